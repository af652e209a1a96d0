"""BATCHIE's ``batchie.core`` names: :class:`~snakelab.batchie.thetas.ThetaHolder`.

So that the documented snippet ``from batchie.core import ThetaHolder`` runs with ``batchie.`` replaced by
``snakelab.batchie.``. Only numpy and h5py are imported.
"""

from __future__ import annotations

from snakelab.batchie.thetas import ThetaHolder

__all__ = ["ThetaHolder"]
