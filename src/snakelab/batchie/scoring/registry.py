"""Static registries (no package walk): scorer and distance-metric classes by their BATCHIE names.

Each class is a frozen dataclass whose fields are its typed, defaulted parameters (all settable).
"""

from snakelab.batchie.distance import MSEDistance
from snakelab.batchie.scoring.pdbal import GaussianDBALScorer
from snakelab.batchie.scoring.simple import RandomScorer, SizeScorer

__all__ = ["DISTANCE_METRICS", "SCORERS"]

#: ``--scorer`` name → class.
SCORERS: dict[str, type] = {
    "GaussianDBALScorer": GaussianDBALScorer,
    "RandomScorer": RandomScorer,
    "SizeScorer": SizeScorer,
}

#: ``--distance-metric`` name → class.
DISTANCE_METRICS: dict[str, type] = {"MSEDistance": MSEDistance}
