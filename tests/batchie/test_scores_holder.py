"""ChunkedScoresHolder (spec §2.3, §2.6): scores, minimum, concat, file layout, errors."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.core.errors import InputError

# BATCHIE's documented snippet (output-format documentation), verbatim
DOCUMENTED_SNIPPET = """\
import glob
from batchie.scoring.main import ChunkedScoresHolder
scores = ChunkedScoresHolder.concat(
    [ChunkedScoresHolder.load_h5(fn) for fn in glob.glob("score_chunk_*.h5")]
)
scores.get_score(plate_id)
"""


def holder_of(pairs: list[tuple[int, float]], size: int | None = None) -> ChunkedScoresHolder:
    holder = ChunkedScoresHolder(len(pairs) if size is None else size)
    for plate_id, score in pairs:
        holder.add_score(plate_id, score)
    return holder


def test_add_and_get_scores() -> None:
    holder = holder_of([(1, 1.0), (2, 0.9), (4, -3.5)], size=1)  # grows beyond the given size
    assert holder.current_index == 3
    np.testing.assert_array_equal(holder.plate_ids, [1, 2, 4])
    np.testing.assert_array_equal(holder.scores, [1.0, 0.9, -3.5])
    assert holder.plate_ids.dtype == np.int64 and holder.scores.dtype == np.float64
    assert holder.get_score(2) == 0.9 and holder.get_score(np.int64(4)) == -3.5
    with pytest.raises(ValueError, match="plate 3, found no score"):
        holder.get_score(3)
    holder.add_score(2, 0.1)
    with pytest.raises(ValueError, match="plate 2, found 2 scores"):
        holder.get_score(2)


def test_minimum_is_first_in_id_order_on_ties() -> None:
    holder = holder_of([(7, 0.5), (3, 0.2), (9, -1.0), (1, -1.0), (5, 0.2)])
    assert holder.plate_id_with_minimum_score() == 1
    assert holder.plate_id_with_minimum_score([9, 3, 5, 7]) == 9
    assert holder.plate_id_with_minimum_score(np.array([7, 5, 3])) == 3
    assert holder.plate_id_with_minimum_score([7, 42]) == 7
    with pytest.raises(ValueError, match="no scores"):
        holder.plate_id_with_minimum_score([42])
    with pytest.raises(ValueError, match="no scores"):
        ChunkedScoresHolder(0).plate_id_with_minimum_score()


def test_minimum_handles_infinite_scores() -> None:
    holder = holder_of([(2, -np.inf), (0, 1.0), (1, -np.inf)])
    assert holder.plate_id_with_minimum_score() == 1


def test_concat_returns_a_new_holder_and_keeps_inputs() -> None:
    a = holder_of([(0, 1.0), (2, 0.5)])
    b = holder_of([])
    c = holder_of([(1, 0.25)])
    joined = ChunkedScoresHolder.concat([a, b, c])
    assert joined is not a
    np.testing.assert_array_equal(joined.plate_ids, [0, 2, 1])
    np.testing.assert_array_equal(joined.scores, [1.0, 0.5, 0.25])
    assert joined.current_index == 3
    assert a.current_index == 2 and list(a.plate_ids) == [0, 2]
    combined = c.combine(a)
    np.testing.assert_array_equal(combined.plate_ids, [1, 0, 2])
    assert c.current_index == 1
    with pytest.raises(ValueError):
        ChunkedScoresHolder.concat([])


def test_round_trip_file_layout_and_same_bytes(tmp_path: Path) -> None:
    holder = holder_of([(1, 1.0), (2, 0.9)], size=5)
    holder.save_h5(tmp_path / "a.h5")
    time.sleep(1.1)
    holder.save_h5(tmp_path / "b.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    with h5py.File(tmp_path / "a.h5") as f:
        assert sorted(f) == ["plate_ids", "scores"]
        assert f["scores"].dtype == np.float64 and f["plate_ids"].dtype == np.int64
        assert f["scores"].compression is None and f["plate_ids"].compression is None
        assert f["scores"].shape == f["plate_ids"].shape == (2,)
        assert list(f.attrs) == ["current_index"]
        assert f.attrs["current_index"] == 2 and f.attrs["current_index"].dtype == np.int64
    loaded = ChunkedScoresHolder.load_h5(tmp_path / "a.h5")
    np.testing.assert_array_equal(loaded.plate_ids, [1, 2])
    np.testing.assert_array_equal(loaded.scores, [1.0, 0.9])
    assert loaded.current_index == 2


def test_empty_holder_has_zero_length_datasets(tmp_path: Path) -> None:
    ChunkedScoresHolder(3).save_h5(tmp_path / "score_chunk_1.h5")
    with h5py.File(tmp_path / "score_chunk_1.h5") as f:
        assert f["scores"].shape == f["plate_ids"].shape == (0,)
        assert f.attrs["current_index"] == 0
    empty = ChunkedScoresHolder.load_h5(tmp_path / "score_chunk_1.h5")
    assert empty.current_index == 0 and empty.scores.shape == (0,)


def test_a_partly_filled_buffer_is_cut_at_current_index(tmp_path: Path) -> None:
    path = tmp_path / "buffer.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("scores", data=[0.5, 0.25, 0.0, 0.0])
        f.create_dataset("plate_ids", data=np.array([3, 4, 0, 0], dtype=np.int64))
        f.attrs["current_index"] = np.int64(2)
    loaded = ChunkedScoresHolder.load_h5(path)
    np.testing.assert_array_equal(loaded.plate_ids, [3, 4])
    assert loaded.plate_id_with_minimum_score() == 4


@pytest.mark.parametrize(
    ("datasets", "attrs", "field"),
    [
        ({"plate_ids": np.array([1], dtype=np.int64)}, {"current_index": 1}, "scores"),
        ({"scores": [1.0], "plate_ids": [1.0]}, {"current_index": 1}, "plate_ids"),
        ({"scores": np.array([1], dtype=np.int64), "plate_ids": np.array([1])}, {}, "scores"),
        ({"scores": [1.0, 2.0], "plate_ids": np.array([1])}, {}, "plate_ids"),
        ({"scores": [1.0], "plate_ids": np.array([1])}, {"current_index": 2}, "current_index"),
        ({"scores": [1.0], "plate_ids": np.array([1])}, {"current_index": 0.5}, "current_index"),
    ],
)
def test_malformed_files_raise_input_error(tmp_path: Path, datasets: dict, attrs: dict, field: str) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
        f.attrs.update(attrs)
    with pytest.raises(InputError) as info:
        ChunkedScoresHolder.load_h5(path)
    assert (info.value.path, info.value.field) == (str(path), field)
    with pytest.raises(InputError, match="existing HDF5 file"):
        ChunkedScoresHolder.load_h5(tmp_path / "absent.h5")


def test_documented_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder_of([(0, 0.7), (1, 1.0)]).save_h5(tmp_path / "score_chunk_0.h5")
    holder_of([(2, 0.9), (3, 0.1)]).save_h5(tmp_path / "score_chunk_1.h5")
    ChunkedScoresHolder(0).save_h5(tmp_path / "score_chunk_2.h5")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"plate_id": 2}
    exec(DOCUMENTED_SNIPPET.replace("batchie.", "snakelab.batchie."), namespace)
    scores = namespace["scores"]
    assert scores.get_score(2) == 0.9 and scores.current_index == 4
    assert scores.plate_id_with_minimum_score() == 3
