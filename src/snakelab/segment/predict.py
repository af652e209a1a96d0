"""The prediction stages (spec §10–11): plan-blocks, predict-block, stitch, postprocess, evaluate, apply.

Directory ``predict/{run}/{volume}/``: ``blocks.json`` → ``blocks/{k:05d}.npz`` → ``prediction.zarr``
(``prediction`` (C, z, y, x), attrs voxel_size, offset, axis_names ["c^","z","y","x"], units,
value_range, run, iteration) → ``segmentation.zarr`` (``segmentation``) → ``scores.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.segment import blockwise, paths, shapes
from snakelab.segment.configs import load_run
from snakelab.segment.roi import Roi
from snakelab.segment.volumes import Volume, open_volume, write_volume

CHANNEL_AXES = ["c^", "z", "y", "x"]
SPATIAL_AXES = ["z", "y", "x"]


def _run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    return load_run(paths.run_yaml(run_dir))


def plan(
    run_dir: str | os.PathLike[str],
    raw: str | os.PathLike[str],
    block_shape: Sequence[int],
    output: str | os.PathLike[str],
    roi: Roi | None = None,
) -> Path:
    """Write ``blocks.json`` for predicting ``raw`` (``data/{volume}.zarr/raw``) with the run's network."""
    from snakelab.core.atomic import write_text

    run = _run(run_dir)
    volume = open_volume(raw)
    shp = run["shapes"]
    try:
        doc = blockwise.plan_blocks(
            volume.roi,
            volume.voxel_size,
            shp["eval_input_shape"],
            shp["eval_output_shape"],
            block_shape,
            roi,
            shapes.scale(run["architecture"], volume.voxel_size),
        )
    except InputError as exc:
        raise InputError(raw, exc.field, exc.expected) from None
    doc["run"] = run["run"]
    doc["raw"] = str(raw)
    return write_text(output, json.dumps(doc, indent=1) + "\n")


def load_model(run: Mapping[str, Any], checkpoint: str | os.PathLike[str], threads: int = 1) -> Any:
    """The run's model with the weights of ``checkpoint``, in eval mode."""
    import torch

    from snakelab.segment.trainer import build_model, device

    torch.set_num_threads(max(1, int(threads)))
    model = build_model(run)
    state = torch.load(Path(checkpoint), weights_only=True, map_location="cpu")
    if state.get("config_hash") not in (None, run["config_hash"]):
        raise InputError(checkpoint, "config_hash", "checkpoint belongs to another run config")
    model.load_state_dict(state["model"])
    return model.to(device()).eval()


def predict_block(
    run_dir: str | os.PathLike[str],
    blocks: str | os.PathLike[str],
    index: int,
    checkpoint: str | os.PathLike[str],
    output: str | os.PathLike[str],
    batch: int = 1,
    threads: int = 1,
) -> Path:
    """Predict block ``index`` of ``blocks.json`` with ``checkpoint``; write ``blocks/{k:05d}.npz``."""
    plan_doc = json.loads(Path(blocks).read_text())
    if not 0 <= index < len(plan_doc["blocks"]):
        raise InputError(blocks, "index", f"expected 0..{len(plan_doc['blocks']) - 1}, got {index}")
    block = plan_doc["blocks"][index]
    model = load_model(_run(run_dir), checkpoint, threads)
    raw = open_volume(plan_doc["raw"])
    data = blockwise.predict_block(model, raw, plan_doc, block, batch)
    return blockwise.write_block(output, data, block["write_offset"], plan_doc["voxel_size"])


def stitch(
    run_dir: str | os.PathLike[str],
    blocks: str | os.PathLike[str],
    block_files: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    dtype: str = "float32",
    iteration: int | None = None,
) -> Path:
    """Assemble the block files into ``prediction.zarr/prediction`` (chunks = block_shape)."""
    from snakelab.segment.postprocess.units import encode_uint8
    from snakelab.segment.tasks import get_task

    run = _run(run_dir)
    plan_doc = json.loads(Path(blocks).read_text())
    if len(block_files) != len(plan_doc["blocks"]):
        raise InputError(
            blocks, "blocks", f"expected {len(plan_doc['blocks'])} block files, got {len(block_files)}"
        )
    data = blockwise.stitch(plan_doc, block_files)
    task = get_task(run["task"])
    if dtype == "uint8":
        data = encode_uint8(data, task.value_range)
    elif dtype != "float32":
        raise InputError(None, "--dtype", f"expected float32 or uint8, got {dtype}")
    units = open_volume(plan_doc["raw"]).units
    attrs = {"value_range": list(task.value_range), "run": run["run"], "iteration": iteration}
    volume = Volume(
        data, plan_doc["voxel_size"], plan_doc["output_roi"]["offset"], CHANNEL_AXES, units, attrs
    )
    return write_volume(output, {"prediction": volume}, {"prediction": plan_doc["block_shape"]})


def _parameter(run: Mapping[str, Any], best: str | None, parameter: str | None) -> Any:
    from snakelab.segment.best import read_best
    from snakelab.segment.tasks import get_task

    task = get_task(run["task"])
    if parameter is None:
        if best is None:
            raise InputError(None, "--parameter", "give --best or --parameter")
        parameter = read_best(best)["parameter"]
    return task.parameter(parameter)


def postprocess(
    run_dir: str | os.PathLike[str],
    prediction: str | os.PathLike[str],
    output: str | os.PathLike[str],
    best: str | None = None,
    parameter: str | None = None,
) -> Path:
    """Post-process ``prediction.zarr/prediction`` with the best (or the given) parameter."""
    from snakelab.segment.tasks import get_task

    run = _run(run_dir)
    task = get_task(run["task"])
    params = _parameter(run, best, parameter)
    volume = open_volume(Path(prediction) / "prediction")
    result = task.postprocess(np.asarray(volume.data[...]), params, volume.attrs.get("value_range"))
    axes = CHANNEL_AXES if result.ndim == 4 else SPATIAL_AXES
    attrs = {"run": run["run"], "parameter": params.key, "iteration": volume.attrs.get("iteration")}
    seg = Volume(result, volume.voxel_size, volume.offset, axes, volume.units, attrs)
    return write_volume(output, {"segmentation": seg})


def evaluate(
    run_dir: str | os.PathLike[str],
    segmentation: str | os.PathLike[str],
    dataset: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> dict[str, Any]:
    """Every task criterion of ``segmentation.zarr`` against the dataset's ground truth → ``scores.json``."""
    from snakelab.core.atomic import write_text
    from snakelab.segment.tasks import get_task

    run = _run(run_dir)
    task = get_task(run["task"])
    seg = open_volume(Path(segmentation) / "segmentation")
    roi = Roi(seg.offset, seg.roi.shape)
    truth = {"labels": open_volume(Path(dataset) / "labels").to_ndarray(roi)}
    if (Path(dataset) / "classes").is_dir():
        truth["classes"] = open_volume(Path(dataset) / "classes").to_ndarray(roi)
    scores = task.evaluate(np.asarray(seg.data[...]), truth, seg.voxel_size)
    doc = {
        "run": run["run"],
        "dataset": Path(dataset).name.removesuffix(".zarr"),
        "iteration": seg.attrs.get("iteration"),
        "parameter": seg.attrs.get("parameter"),
        "scores": {k: (None if not np.isfinite(v) else float(v)) for k, v in scores.items()},
    }
    write_text(output, json.dumps(doc, indent=2) + "\n")
    return doc


def apply(
    run_dir: str | os.PathLike[str],
    raw: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    best: str | None = None,
    iteration: int | None = None,
    parameter: str | None = None,
    block_shape: Sequence[int] | None = None,
    batch: int = 1,
    threads: int = 1,
) -> Path:
    """Predict ``raw`` blockwise in this process with the best checkpoint (or ``iteration``), stitch and
    post-process with the best parameter (or ``parameter``) into ``output_dir``."""
    from snakelab.segment.best import read_best

    run = _run(run_dir)
    chosen = read_best(best) if best else {}
    if iteration is None:
        if not chosen:
            raise InputError(None, "--iteration", "give --best or --iteration")
        iteration = int(chosen["iteration"])
    checkpoint = paths.checkpoint_path(run_dir, iteration)
    if not checkpoint.exists():
        raise InputError(checkpoint, "checkpoint", f"no checkpoint for iteration {iteration}")
    output_dir = Path(output_dir)
    blocks = output_dir / "blocks.json"
    plan(run_dir, raw, block_shape or run["shapes"]["eval_output_shape"], blocks)
    n = len(json.loads(blocks.read_text())["blocks"])
    files = []
    for k in range(n):
        files.append(
            predict_block(run_dir, blocks, k, checkpoint, blockwise.block_path(output_dir, k), batch, threads)
        )
    stitch(run_dir, blocks, files, output_dir / "prediction.zarr", iteration=iteration)
    return postprocess(
        run_dir,
        output_dir / "prediction.zarr",
        output_dir / "segmentation.zarr",
        best,
        parameter or chosen.get("parameter"),
    )
