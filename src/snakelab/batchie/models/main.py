"""BATCHIE's ``batchie.models.main`` names: ``ModelEvaluation`` and ``SparseDrugComboMCMCSample``.

So that ``from batchie.models.main import ModelEvaluation`` runs with ``batchie.`` replaced by
``snakelab.batchie.``. Only numpy and h5py are imported.
"""

from __future__ import annotations

from snakelab.batchie.models.evaluation import ModelEvaluation
from snakelab.batchie.models.sparse_combo import SparseDrugComboMCMCSample

__all__ = ["ModelEvaluation", "SparseDrugComboMCMCSample"]
