"""Simulators shipped with the IMNN pipeline and the hook for user simulators (spec §8).

``get(name)`` returns a :class:`Simulator` entry: ``input_shape(args)``, ``simulate(key, θ, args)``
(JAX, traceable, differentiable in θ), default ``theta_fid`` and prior box, ``analytic_fisher(θ, args)``.
Shipped: ``gaussian`` (mean and variance of n_data = 10 draws) and ``field2d`` (Gaussian random field,
P(k) = A k^−B). A user simulator is named ``module:attribute`` (see :mod:`.user`). Importing this
package does not import JAX; running a simulator does.
"""

from snakelab.imnn.simulators.batch import batch_simulator
from snakelab.imnn.simulators.registry import Simulator, get, names
from snakelab.imnn.simulators.user import from_function
from snakelab.imnn.simulators.validate import check_simulations, validate_simulator

__all__ = [
    "Simulator",
    "batch_simulator",
    "check_simulations",
    "from_function",
    "get",
    "names",
    "validate_simulator",
]
