"""Static registries of the prepare classes a command line or config may name (no package walk).

Each class takes its parameters as typed keyword arguments (annotations are real types, not strings;
parameters without a default are required) and validates them, raising
:class:`~snakelab.core.errors.InputError` naming the parameter.
"""

from __future__ import annotations

from snakelab.batchie.prepare.initial_plates import SparseCoverPlateGenerator
from snakelab.batchie.prepare.plate_generators import (
    PairwisePlateGenerator,
    PlatePermutationPlateGenerator,
    SampleSegregatingPermutationPlateGenerator,
)
from snakelab.batchie.prepare.smoothers import (
    BatchieEnsemblePlateSmoother,
    FixedSizeSmoother,
    MergeMinPlateSmoother,
    MergeTopBottomPlateSmoother,
    NPlatePerCellLineSmoother,
    OptimalSizeSmoother,
)

__all__ = ["INITIAL_PLATE_GENERATORS", "PLATE_GENERATORS", "PLATE_SMOOTHERS"]

INITIAL_PLATE_GENERATORS: dict[str, type] = {
    "SparseCoverPlateGenerator": SparseCoverPlateGenerator,
}
PLATE_GENERATORS: dict[str, type] = {
    "PlatePermutationPlateGenerator": PlatePermutationPlateGenerator,
    "PairwisePlateGenerator": PairwisePlateGenerator,
    "SampleSegregatingPermutationPlateGenerator": SampleSegregatingPermutationPlateGenerator,
}
PLATE_SMOOTHERS: dict[str, type] = {
    "MergeMinPlateSmoother": MergeMinPlateSmoother,
    "MergeTopBottomPlateSmoother": MergeTopBottomPlateSmoother,
    "OptimalSizeSmoother": OptimalSizeSmoother,
    "FixedSizeSmoother": FixedSizeSmoother,
    "NPlatePerCellLineSmoother": NPlatePerCellLineSmoother,
    "BatchieEnsemblePlateSmoother": BatchieEnsemblePlateSmoother,
}
