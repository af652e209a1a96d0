"""§15.7 ROIs in world units, and the zarr volume conventions of §1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from snakelab.core.errors import InputError
from snakelab.segment.blockwise import plan_blocks
from snakelab.segment.roi import Roi, grow, intersect, snap
from snakelab.segment.volumes import Volume, open_volume, write_volume


def test_read_roi_is_the_write_roi_grown_by_the_context_in_world_units() -> None:
    write = Roi((0, 0, 0), (256, 512, 512))
    assert grow(write, (64, 64, 64)) == Roi((-64, -64, -64), (384, 640, 640))
    plan = plan_blocks(write, (8, 8, 8), (48, 80, 80), (32, 64, 64), (32, 64, 64))
    first = plan["blocks"][0]
    assert plan["context"] == [64, 64, 64]
    assert first["write_offset"] == [0, 0, 0] and first["write_shape"] == [256, 512, 512]
    assert first["read_offset"] == [-64, -64, -64] and first["read_shape"] == [384, 640, 640]


def test_snap_and_intersect() -> None:
    assert snap(Roi((5,), (245,)), (8,)) == Roi((0,), (256,))
    assert snap(Roi((5,), (245,)), (8,), "shrink") == Roi((8,), (240,))
    assert intersect(Roi((0, 0), (10, 10)), Roi((5, 20), (10, 10))) == Roi((5, 20), (5, 0))


def test_volume_round_trip_attributes_and_zero_fill(tmp_path: Path) -> None:
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_volume(tmp_path / "v.zarr", {"raw": Volume(data, (8, 4, 4), (8, 0, 4))})
    group = zarr.open_group(str(tmp_path / "v.zarr"), mode="r")
    assert group.metadata.zarr_format == 2
    volume = open_volume(tmp_path / "v.zarr" / "raw")
    assert volume.roi == Roi((8, 0, 4), (16, 12, 16))
    assert dict(group["raw"].attrs)["axis_names"] == ["z", "y", "x"]
    window = volume.to_ndarray(Roi((0, 0, 0), (16, 8, 8)))
    np.testing.assert_array_equal(window[0], 0)
    assert window[1, 0, 1] == data[0, 0, 0] and window[1, 1, 1] == data[0, 1, 0]
    assert not list(tmp_path.glob(".*tmp*"))


def test_offset_off_the_voxel_grid_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="offset"):
        write_volume(
            tmp_path / "v.zarr", {"raw": Volume(np.zeros((2, 2, 2), np.uint8), (8, 8, 8), (4, 0, 0))}
        )
    assert not (tmp_path / "v.zarr").exists()
    group = zarr.open_group(str(tmp_path / "w.zarr"), mode="w", zarr_format=2)
    array = group.create_array("raw", shape=(2, 2, 2), dtype="u1")
    array.attrs.update({"voxel_size": [8, 8, 8], "offset": [4, 0, 0]})
    with pytest.raises(InputError, match="offset: expected a multiple of voxel_size"):
        open_volume(tmp_path / "w.zarr" / "raw")


def test_missing_voxel_size_is_one_line(tmp_path: Path) -> None:
    group = zarr.open_group(str(tmp_path / "w.zarr"), mode="w", zarr_format=2)
    group.create_array("raw", shape=(2, 2, 2), dtype="u1")
    with pytest.raises(InputError) as info:
        open_volume(tmp_path / "w.zarr" / "raw")
    assert "voxel_size: missing attribute" in str(info.value) and "\n" not in str(info.value)
