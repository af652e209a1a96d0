"""§11 stitch/postprocess: uint8 predictions post-process like float32 ones (thresholds through value_range);
the prediction attributes; an explicit --parameter overrides the best one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr

from snakelab.segment import blockwise, paths, predict
from snakelab.segment.best import write_best
from snakelab.segment.training import train_run


def test_uint8_and_float32_predictions_give_the_same_masks(
    make_run: Callable[..., Path], tmp_path: Path
) -> None:
    run_dir = make_run("b__0")
    train_run(run_dir, threads=1)
    best = write_best(run_dir)
    raw = run_dir.parent.parent / "data" / "va.zarr" / "raw"
    plan = predict.plan(run_dir, raw, (8, 16, 16), tmp_path / "blocks.json")
    n = len(json.loads(plan.read_text())["blocks"])
    files = [
        predict.predict_block(
            run_dir, plan, k, paths.checkpoint_path(run_dir, 6), blockwise.block_path(tmp_path, k)
        )
        for k in range(n)
    ]
    for dtype in ("float32", "uint8"):
        predict.stitch(run_dir, plan, files, tmp_path / f"{dtype}.zarr", dtype, iteration=6)
    stored = zarr.open_array(str(tmp_path / "uint8.zarr" / "prediction"), mode="r")
    attrs = dict(stored.attrs)
    assert stored.dtype == np.uint8 and attrs["value_range"] == [-1.0, 1.0]
    assert attrs["axis_names"] == ["c^", "z", "y", "x"] and attrs["run"] == "b__0" and attrs["iteration"] == 6
    assert stored.chunks == (1, 8, 16, 16)
    floats = zarr.open_array(str(tmp_path / "float32.zarr" / "prediction"), mode="r")[...]
    np.testing.assert_array_equal(
        stored[...], np.round(255 * (np.clip(floats, -1, 1) + 1) / 2).astype(np.uint8)
    )
    for dtype in ("float32", "uint8"):
        predict.postprocess(
            run_dir, tmp_path / f"{dtype}.zarr", tmp_path / f"seg_{dtype}.zarr", parameter="threshold_0.25"
        )
    a = zarr.open_array(str(tmp_path / "seg_float32.zarr" / "segmentation"), mode="r")[...]
    b = zarr.open_array(str(tmp_path / "seg_uint8.zarr" / "segmentation"), mode="r")[...]
    near = np.abs(floats - 0.25) < 2 / 255
    np.testing.assert_array_equal(a[~near], b[~near])
    assert dict(zarr.open_array(str(tmp_path / "seg_uint8.zarr" / "segmentation"), mode="r").attrs)[
        "parameter"
    ] == ("threshold_0.25")
    assert json.loads(best.read_text())["parameter"] in ("threshold_0.00", "threshold_0.25")
