"""What the three tasks share: the post-processing grid and post-processor, criteria directions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.segment.evaluate.criteria import higher_is_better_table
from snakelab.segment.evaluate.tasks import evaluate
from snakelab.segment.postprocess.apply import postprocess
from snakelab.segment.postprocess.parameters import PostProcessorParameters, find_parameters, parameter_grid


class TaskBase:
    """Base of the task classes; subclasses set ``config``, ``channels``, ``criteria``, ``value_range``."""

    config: dict[str, Any]
    criteria: list[str]
    value_range: tuple[float, float]

    def parameters(self) -> list[PostProcessorParameters]:
        """The post-processing grid (keys ``bias_0.10``, ``threshold_-0.25``, ``argmax``)."""
        return parameter_grid(self.config)

    def parameter(self, key: str) -> PostProcessorParameters:
        """The grid point named ``key`` (InputError listing the keys otherwise)."""
        return find_parameters(self.config, key)

    def postprocess(
        self,
        prediction: np.ndarray,
        parameters: PostProcessorParameters,
        value_range: Sequence[float] | None = None,
    ) -> np.ndarray:
        """The task output for ``prediction`` (C, z, y, x), float or uint8 (through ``value_range``)."""
        return postprocess(self.config, prediction, parameters, value_range or self.value_range)

    def evaluate(
        self, output: np.ndarray, truth: Mapping[str, np.ndarray], voxel_size: Sequence[int]
    ) -> dict[str, float]:
        """Every criterion for a post-processed ``output`` against ``truth`` (``labels``/``classes``,
        no channel axis; axes matched by name)."""
        names = ["c^", "z", "y", "x"] if np.ndim(output) == 4 else ["z", "y", "x"]
        return evaluate(
            self.config, output, voxel_size, truth.get("labels"), truth.get("classes"), names, ["z", "y", "x"]
        )

    @property
    def higher_is_better(self) -> dict[str, bool]:
        return higher_is_better_table(self.criteria)
