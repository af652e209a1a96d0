"""The store's tables (SQLAlchemy 2 typed declarative); importing this module defines all of them.

``Base.metadata`` is the schema that migration ``0001_initial`` creates (a test compares them).
"""

from snakelab.store.models.base import Base
from snakelab.store.models.dataset import (
    Dataset,
    Feature,
    FeatureCoder,
    FeatureInterpolater,
    FeatureShaper,
    Label,
    LabelCoder,
    LabelInterpolater,
    Window,
)
from snakelab.store.models.experiment import (
    Algorithm,
    Hyperparamcombo,
    Hyperparamset,
    Job,
    Prediction,
    Predictor,
    Queue,
)
from snakelab.store.models.lineage import Artifact, Metric, Run, RunIO
from snakelab.store.models.split import Fold, Splitset, splitset_feature

__all__ = [
    "Algorithm",
    "Artifact",
    "Base",
    "Dataset",
    "Feature",
    "FeatureCoder",
    "FeatureInterpolater",
    "FeatureShaper",
    "Fold",
    "Hyperparamcombo",
    "Hyperparamset",
    "Job",
    "Label",
    "LabelCoder",
    "LabelInterpolater",
    "Metric",
    "Prediction",
    "Predictor",
    "Queue",
    "Run",
    "RunIO",
    "Splitset",
    "Window",
    "splitset_feature",
]
