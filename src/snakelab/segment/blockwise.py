"""Blockwise prediction (spec §11): the block plan, one block's prediction, stitching.

Plan: the output ROI (requested ROI, default the raw ROI, snapped outward to the output voxel grid) is
tiled from its origin with stride ``block_shape``·voxel_size (``block_shape`` in output voxels, a
multiple of the eval output shape); write ROI = tile ∩ output ROI; read ROI = tile grown by the context
on both sides (world units). A block runs eval tiles over its whole tile (raw zero-filled outside its
ROI) and crops to the write ROI, so every tile offset is a multiple of the eval output shape from the
output origin and the stitched result equals one forward pass over the zero-padded volume.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.segment.roi import Roi, grow, intersect, snap
from snakelab.segment.volumes import Volume

BLOCKS = "blocks.json"


def world_context(
    voxel_size: Sequence[int],
    out_voxel_size: Sequence[int],
    eval_input: Sequence[int],
    eval_output: Sequence[int],
) -> tuple[int, ...]:
    """(input·voxel_size − output·out_voxel_size)/2 per axis, world units."""
    out = []
    for v, w, i, o in zip(voxel_size, out_voxel_size, eval_input, eval_output, strict=True):
        diff = i * v - o * w
        if diff % 2:
            raise ValueError(f"context ({i}·{v} − {o}·{w})/2 is not integral")
        out.append(diff // 2)
    return tuple(out)


def plan_blocks(
    raw_roi: Roi,
    voxel_size: Sequence[int],
    eval_input_shape: Sequence[int],
    eval_output_shape: Sequence[int],
    block_shape: Sequence[int],
    roi: Roi | None = None,
    out_voxel_size: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The ``blocks.json`` document (world units; see the module docstring)."""
    out_vs = tuple(out_voxel_size or voxel_size)
    if any(int(b) % int(o) for b, o in zip(block_shape, eval_output_shape, strict=True)):
        raise InputError(
            None,
            "block_shape",
            f"{list(block_shape)} is not a multiple of the eval output shape {list(eval_output_shape)}",
        )
    output_roi = snap(roi if roi is not None else raw_roi, out_vs, "grow")
    if output_roi.empty():
        raise InputError(None, "roi", f"empty output ROI {output_roi}")
    context = world_context(voxel_size, out_vs, eval_input_shape, eval_output_shape)
    stride = tuple(int(b) * v for b, v in zip(block_shape, out_vs, strict=True))
    counts = [math.ceil(s / t) for s, t in zip(output_roi.shape, stride, strict=True)]
    blocks = []
    for index, k in enumerate(itertools.product(*[range(c) for c in counts])):
        tile = Roi(tuple(o + i * t for o, i, t in zip(output_roi.offset, k, stride, strict=True)), stride)
        write = intersect(tile, output_roi)
        read = grow(tile, context, context)
        blocks.append(
            {
                "index": index,
                "write_offset": list(write.offset),
                "write_shape": list(write.shape),
                "read_offset": list(read.offset),
                "read_shape": list(read.shape),
                "tile_offset": list(tile.offset),
                "tile_shape": list(tile.shape),
            }
        )
    return {
        "voxel_size": list(out_vs),
        "input_voxel_size": list(voxel_size),
        "output_roi": output_roi.to_json(),
        "context": list(context),
        "eval_input_shape": [int(s) for s in eval_input_shape],
        "eval_output_shape": [int(s) for s in eval_output_shape],
        "block_shape": [int(s) for s in block_shape],
        "blocks": blocks,
    }


def normalised_raw(raw: Volume, roi: Roi) -> np.ndarray:
    """Raw inside ``roi`` (zero-filled outside its ROI), uint8 → /255, float32 (z, y, x)."""
    data = raw.to_ndarray(roi, fill=0)
    if data.dtype == np.uint8:
        return data.astype(np.float32) / np.float32(255.0)
    return data.astype(np.float32)


def predict_tile_grid(
    model: Any,
    raw: np.ndarray,
    eval_input_shape: Sequence[int],
    eval_output_shape: Sequence[int],
    tiles: Sequence[int],
    batch: int = 1,
) -> np.ndarray:
    """Run ``model`` (eval mode) on the tile grid of ``raw`` (the tile area grown by the context).

    ``raw``: float32 (z, y, x) of shape (tiles·eval_output − eval_output + eval_input) per axis;
    returns (C, *tiles·eval_output) float32 (eval activation applied by the model).
    """
    import torch

    step = [int(o) for o in eval_output_shape]
    ins = [int(i) for i in eval_input_shape]
    positions = list(itertools.product(*[range(t) for t in tiles]))
    device = next(model.parameters()).device
    result: np.ndarray | None = None
    with torch.no_grad():
        for first in range(0, len(positions), max(1, batch)):
            group = positions[first : first + max(1, batch)]
            x = np.stack(
                [
                    raw[tuple(slice(p * s, p * s + i) for p, s, i in zip(pos, step, ins, strict=True))]
                    for pos in group
                ]
            )
            y = model(torch.from_numpy(x[:, None]).to(device)).cpu().numpy()
            if result is None:
                result = np.zeros(
                    (y.shape[1], *(t * s for t, s in zip(tiles, step, strict=True))), np.float32
                )
            for pos, tile in zip(group, y, strict=True):
                result[
                    (slice(None), *(slice(p * s, (p + 1) * s) for p, s in zip(pos, step, strict=True)))
                ] = tile
    assert result is not None
    return result


def predict_block(
    model: Any, raw: Volume, plan: Mapping[str, Any], block: Mapping[str, Any], batch: int = 1
) -> np.ndarray:
    """Prediction of one block of ``plan``: (C, *write_shape in output voxels) float32."""
    out_vs = plan["voxel_size"]
    in_vs = plan.get("input_voxel_size", out_vs)
    eval_out = plan["eval_output_shape"]
    tiles = [ts // (o * v) for ts, o, v in zip(block["tile_shape"], eval_out, out_vs, strict=True)]
    read = Roi(block["read_offset"], block["read_shape"])
    if tuple(in_vs) != tuple(raw.voxel_size):
        raise InputError(
            None, "voxel_size", f"raw voxel size {raw.voxel_size} differs from the plan's {in_vs}"
        )
    data = normalised_raw(raw, read)
    full = predict_tile_grid(model, data, plan["eval_input_shape"], eval_out, tiles, batch)
    begin = [
        (w - t) // v for w, t, v in zip(block["write_offset"], block["tile_offset"], out_vs, strict=True)
    ]
    shape = [s // v for s, v in zip(block["write_shape"], out_vs, strict=True)]
    return full[(slice(None), *(slice(b, b + s) for b, s in zip(begin, shape, strict=True)))]


def predict_volume(
    model: Any,
    raw: Volume,
    output_roi: Roi,
    eval_input_shape: Sequence[int],
    eval_output_shape: Sequence[int],
    out_voxel_size: Sequence[int] | None = None,
    batch: int = 1,
) -> tuple[np.ndarray, Roi]:
    """In-process prediction over ``output_roi`` with the same tiling rule (one block covering it)."""
    out_vs = tuple(out_voxel_size or raw.voxel_size)
    output_roi = snap(output_roi, out_vs, "grow")
    block = [
        math.ceil(s / (o * v)) * o
        for s, o, v in zip(output_roi.shape, eval_output_shape, out_vs, strict=True)
    ]
    plan = plan_blocks(
        raw.roi, raw.voxel_size, eval_input_shape, eval_output_shape, block, output_roi, out_vs
    )
    (only,) = plan["blocks"]
    return predict_block(model, raw, plan, only, batch), output_roi


def block_path(directory: str | os.PathLike[str], index: int) -> Path:
    """``{directory}/blocks/{index:05d}.npz``."""
    return Path(directory) / "blocks" / f"{int(index):05d}.npz"


def write_block(
    path: str | os.PathLike[str], data: np.ndarray, offset: Sequence[int], voxel_size: Sequence[int]
) -> Path:
    """Write one block's ``data`` (C, *write_shape) float32, ``offset`` and ``voxel_size`` atomically."""
    from snakelab.core.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle, data=data.astype(np.float32), offset=np.asarray(offset), voxel_size=np.asarray(voxel_size)
        )
    return Path(path)


def stitch(
    plan: Mapping[str, Any], block_files: Sequence[str | os.PathLike[str]], channels: int | None = None
) -> np.ndarray:
    """Assemble the blocks of ``plan`` into (C, *output voxels) float32; every voxel written exactly once.

    Raises :class:`InputError` for a block outside the output ROI, an overlap or a voxel never written.
    """
    out_roi = Roi(plan["output_roi"]["offset"], plan["output_roi"]["shape"])
    vs = plan["voxel_size"]
    shape = [s // v for s, v in zip(out_roi.shape, vs, strict=True)]
    result: np.ndarray | None = None
    count = np.zeros(shape, dtype=np.uint8)
    for path in block_files:
        with np.load(path) as block:
            data, offset = block["data"], [int(o) for o in block["offset"]]
        if result is None:
            result = np.zeros((channels or data.shape[0], *shape), dtype=np.float32)
        begin = [(o - r) // v for o, r, v in zip(offset, out_roi.offset, vs, strict=True)]
        where = tuple(slice(b, b + s) for b, s in zip(begin, data.shape[1:], strict=True))
        if any(b < 0 or b + s > n for b, s, n in zip(begin, data.shape[1:], shape, strict=True)):
            raise InputError(path, "offset", f"block at {offset} lies outside the output ROI {out_roi}")
        result[(slice(None), *where)] = data
        count[where] += 1
    if result is None:
        raise InputError(None, "blocks", "no block files")
    if count.max() > 1:
        raise InputError(None, "blocks", f"{int(np.count_nonzero(count > 1))} voxels written more than once")
    if count.min() < 1:
        raise InputError(None, "blocks", f"{int(np.count_nonzero(count == 0))} voxels never written")
    return result
