"""Match a task output to its ground truth by axis names (spec §4; the reference's defect §12.1).

Ground truth (``labels``, ``classes``) has spatial axes only (["z", "y", "x"]); an output may carry a
channel axis (a name ending in "^", e.g. ["c^", "z", "y", "x"]) anywhere and its spatial axes in another
order. :func:`channel_slices` returns the output's channel slices with their axes in ground-truth order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPATIAL_AXES = ("z", "y", "x")


def is_channel_axis(name: str) -> bool:
    """True for channel axis names (ending in "^")."""
    return str(name).endswith("^")


def channel_slices(
    output: np.ndarray,
    truth_shape: Sequence[int],
    output_axis_names: Sequence[str] | None = None,
    truth_axis_names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """The channel slices of ``output``, each transposed to the ground truth's axis order and shape.

    Defaults: ground-truth axes = the last len(truth_shape) of ("z", "y", "x"); output axes = the
    ground truth's, preceded by "c^" when the output has one more axis. An output without a channel axis
    is one slice. Names or shapes that do not match raise ValueError naming both.
    """
    output = np.asarray(output)
    truth_shape = tuple(int(n) for n in truth_shape)
    truth_names = (
        list(truth_axis_names) if truth_axis_names is not None else list(SPATIAL_AXES[-len(truth_shape) :])
    )
    if len(truth_names) != len(truth_shape) or any(is_channel_axis(n) for n in truth_names):
        raise ValueError(
            f"ground truth axes {truth_names} do not fit its shape {truth_shape} (no channel axis)"
        )
    if output_axis_names is None:
        extra = output.ndim - len(truth_names)
        if extra not in (0, 1):
            raise ValueError(
                f"output {output.shape} does not fit ground truth {truth_shape} (axes {truth_names})"
            )
        output_axis_names = ["c^", *truth_names] if extra else truth_names
    names = [str(n) for n in output_axis_names]
    if len(names) != output.ndim:
        raise ValueError(f"output axes {names} do not fit its shape {output.shape}")
    channel_axes = [i for i, n in enumerate(names) if is_channel_axis(n)]
    spatial = [n for n in names if not is_channel_axis(n)]
    if len(channel_axes) > 1 or sorted(spatial) != sorted(truth_names):
        raise ValueError(f"output axes {names} do not match ground-truth axes {truth_names}")
    if channel_axes:
        data = np.moveaxis(output, channel_axes[0], 0)
    else:
        data = output[None]
    order = [spatial.index(n) + 1 for n in truth_names]
    data = data.transpose([0, *order])
    if data.shape[1:] != truth_shape:
        raise ValueError(
            f"output {output.shape} (axes {names}) and ground truth {truth_shape} (axes {truth_names}) "
            "cover different shapes"
        )
    return list(data)
