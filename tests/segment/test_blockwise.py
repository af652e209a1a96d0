"""§15.8: blockwise prediction stitched from block files equals one forward pass over the padded volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.segment import blockwise
from snakelab.segment.volumes import Volume

UNET_DEMO = {
    "input_shape": [40, 40, 40],
    "eval_shape_increase": [8, 8, 8],
    "num_fmaps": 8,
    "fmap_inc_factor": 2,
    "fmaps_out": 8,
    "downsample_factors": [[2, 2, 2]],
}


def test_stitched_blocks_equal_one_forward_pass(tmp_path: Path) -> None:
    import torch

    from snakelab.segment.unet import Model

    torch.manual_seed(0)
    model = Model(UNET_DEMO, 3, activation="sigmoid").eval()
    raw = np.random.default_rng(0).integers(0, 256, size=(48, 80, 80), dtype=np.uint8)
    volume = Volume(raw, (8, 8, 8), (0, 0, 0))
    plan = blockwise.plan_blocks(volume.roi, (8, 8, 8), (48, 48, 48), (32, 32, 32), (32, 64, 64))
    assert len(plan["blocks"]) == 2 * 2 * 2
    files = []
    for block in plan["blocks"]:
        data = blockwise.predict_block(model, volume, plan, block)
        files.append(
            blockwise.write_block(
                tmp_path / f"{block['index']}.npz", data, block["write_offset"], plan["voxel_size"]
            )
        )
    stitched = blockwise.stitch(plan, files)
    padded = np.zeros((64, 96, 96), np.float32)
    padded[8:56, 8:88, 8:88] = raw / np.float32(255)
    with torch.no_grad():
        whole = model(torch.from_numpy(padded)[None, None]).numpy()[0]
    assert whole.shape == stitched.shape == (3, 48, 80, 80)
    assert float(np.abs(stitched - whole).max()) < 1e-5


def test_far_edge_blocks_are_cropped_to_the_output_roi() -> None:
    volume = Volume(np.zeros((40, 40, 40), np.uint8), (8, 8, 8), (0, 0, 0))
    plan = blockwise.plan_blocks(volume.roi, (8, 8, 8), (48, 48, 48), (32, 32, 32), (32, 32, 32))
    last = plan["blocks"][-1]
    assert last["write_offset"] == [256, 256, 256] and last["write_shape"] == [64, 64, 64]
    assert last["tile_shape"] == [256, 256, 256]
    total = sum(np.prod([s // 8 for s in b["write_shape"]]) for b in plan["blocks"])
    assert total == 40**3


def test_stitch_rejects_gaps_and_overlaps(tmp_path: Path) -> None:
    plan = blockwise.plan_blocks(
        blockwise.Roi((0, 0, 0), (16, 16, 16)), (8, 8, 8), (3, 3, 3), (1, 1, 1), (1, 2, 2)
    )
    a = blockwise.write_block(tmp_path / "a.npz", np.ones((1, 1, 2, 2), np.float32), (0, 0, 0), (8, 8, 8))
    with pytest.raises(InputError, match="never written"):
        blockwise.stitch(plan, [a])
    b = blockwise.write_block(tmp_path / "b.npz", np.ones((1, 2, 2, 2), np.float32), (0, 0, 0), (8, 8, 8))
    with pytest.raises(InputError, match="more than once"):
        blockwise.stitch(plan, [a, b])


def test_block_shape_must_be_a_multiple_of_the_eval_output() -> None:
    with pytest.raises(InputError, match="multiple of the eval output shape"):
        blockwise.plan_blocks(
            blockwise.Roi((0, 0, 0), (64, 64, 64)), (8, 8, 8), (48, 48, 48), (32, 32, 32), (16, 64, 64)
        )
