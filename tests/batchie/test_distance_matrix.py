"""ChunkedDistanceMatrix (spec §2.3, §2.6, §11.2): chunks, concat, dense form, file layout, errors, speed."""

from __future__ import annotations

import glob
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.distance_calculation import ChunkedDistanceMatrix
from snakelab.batchie.pairs import chunk_pair_range, n_pairs, unrank_pairs
from snakelab.core.errors import InputError

# BATCHIE's documented snippet (output-format documentation), verbatim
DOCUMENTED_SNIPPET = """\
import glob
from batchie.distance_calculation import ChunkedDistanceMatrix
distance_matrix = ChunkedDistanceMatrix.concat(
    [ChunkedDistanceMatrix.load(fn) for fn in glob.glob("distance_matrix_chunk_*.h5")]
)
M = distance_matrix.to_dense()
"""


def random_distances(size: int, seed: int = 0) -> np.ndarray:
    """A (size, size) symmetric matrix with a zero diagonal and distinct positive entries."""
    upper = np.triu(np.random.default_rng(seed).random((size, size)) + 0.5, k=1)
    return upper + upper.T


def fill_chunk(dense: np.ndarray, n_chunks: int, chunk_index: int) -> ChunkedDistanceMatrix:
    """The chunk filled pair by pair with add_value, as a distance job would."""
    size = dense.shape[0]
    chunk = ChunkedDistanceMatrix(size, n_chunks=n_chunks, chunk_index=chunk_index)
    rows, cols = unrank_pairs(np.arange(*chunk.pair_range))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        chunk.add_value(i, j, dense[i, j])
    return chunk


def test_five_thetas_in_three_chunks() -> None:
    dense = random_distances(5)
    chunks = [fill_chunk(dense, 3, k) for k in range(3)]
    assert [c.current_index for c in chunks] == [4, 3, 3]
    pairs = list(zip(chunks[0].row_indices.tolist(), chunks[0].col_indices.tolist(), strict=True))
    assert pairs == [(1, 0), (2, 0), (2, 1), (3, 0)]
    assert [c.pair_range for c in chunks] == [(0, 4), (4, 7), (7, 10)]
    assert chunks[0].row_indices.dtype == np.int64 and chunks[0].values.dtype == np.float64
    np.testing.assert_array_equal(chunks[0].values, [dense[1, 0], dense[2, 0], dense[2, 1], dense[3, 0]])
    assert not chunks[0].is_complete()


def test_concat_of_shuffled_chunk_files_gives_the_dense_matrix(tmp_path: Path) -> None:
    dense = random_distances(5)
    for k in range(3):
        fill_chunk(dense, 3, k).save(tmp_path / f"distance_matrix_chunk_{k}.h5")
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        loaded = [ChunkedDistanceMatrix.load(tmp_path / f"distance_matrix_chunk_{k}.h5") for k in order]
        joined = ChunkedDistanceMatrix.concat(loaded)
        assert joined.is_complete() and joined.current_index == 10 and joined.size == 5
        result = joined.to_dense()
        assert result.dtype == np.float64 and result.shape == (5, 5)
        np.testing.assert_array_equal(result, dense)
        # concat sorts entries into the row-major pair order
        np.testing.assert_array_equal(joined.row_indices, [1, 2, 2, 3, 3, 3, 4, 4, 4, 4])
        np.testing.assert_array_equal(joined.col_indices, [0, 0, 1, 0, 1, 2, 0, 1, 2, 3])


def test_a_missing_pair_makes_to_dense_raise() -> None:
    dense = random_distances(5)
    chunks = [fill_chunk(dense, 3, k) for k in (0, 2)]
    joined = ChunkedDistanceMatrix.concat(chunks)
    assert not joined.is_complete()
    with pytest.raises(ValueError, match=r"3 of 10 pairs missing, the first \(3, 1\)"):
        joined.to_dense()
    with pytest.raises(ValueError, match=r"\(1, 0\)"):
        ChunkedDistanceMatrix(3).to_dense()


def test_duplicates_keep_the_first_value() -> None:
    dense = random_distances(4)
    full = fill_chunk(dense, 1, 0)
    extra = ChunkedDistanceMatrix(4, chunk_size=2)
    extra.add_value(2, 1, -7.0)
    extra.add_value(2, 1, -8.0)
    first = ChunkedDistanceMatrix.concat([full, extra])
    assert first.current_index == 6
    assert first.to_dense()[2, 1] == first.to_dense()[1, 2] == dense[2, 1]
    assert ChunkedDistanceMatrix.concat([extra, full]).to_dense()[2, 1] == -7.0
    # to_dense on an object holding duplicates also keeps the first
    assert full.combine(extra).to_dense()[1, 2] == dense[2, 1]
    raw = ChunkedDistanceMatrix(4, chunk_size=0)
    for i, j in [(3, 2), (1, 0), (2, 1), (2, 0), (3, 0), (2, 1), (3, 1)]:
        raw.add_value(i, j, 10 * i + j if raw.current_index != 5 else 99.0)
    out = raw.to_dense()
    assert out[2, 1] == 21.0 and out[3, 2] == 32.0 and out[3, 1] == 31.0


def test_add_value_checks_the_triangle() -> None:
    matrix = ChunkedDistanceMatrix(4, chunk_size=1)
    for i, j in [(1, 1), (1, 2), (4, 0), (2, -1), (-1, -2)]:
        with pytest.raises(ValueError, match="size > i > j >= 0"):
            matrix.add_value(i, j, 1.0)
    assert matrix.current_index == 0
    for q in range(6):  # grows beyond chunk_size
        i, j = unrank_pairs(np.int64(q))
        matrix.add_value(int(i), int(j), float(q))
    assert matrix.current_index == 6 and matrix.is_complete()
    np.testing.assert_array_equal(matrix.values, np.arange(6.0))


def test_from_arrays() -> None:
    dense = random_distances(6)
    i, j = unrank_pairs(np.arange(n_pairs(6))[::-1])
    matrix = ChunkedDistanceMatrix.from_arrays(6, i, j, dense[i, j])
    np.testing.assert_array_equal(matrix.row_indices, i)
    np.testing.assert_array_equal(matrix.to_dense(), dense)
    with pytest.raises(ValueError, match=r"entry \(2, 2\)"):
        ChunkedDistanceMatrix.from_arrays(6, [1, 2], [0, 2], [1.0, 1.0])
    with pytest.raises(ValueError, match="equal length"):
        ChunkedDistanceMatrix.from_arrays(6, [1, 2], [0], [1.0, 1.0])


def test_empty_chunks_are_valid(tmp_path: Path) -> None:
    # 3 thetas, 5 chunks: P = 3 -> sizes 1, 1, 1, 0, 0
    dense = random_distances(3)
    chunks = [fill_chunk(dense, 5, k) for k in range(5)]
    assert [c.current_index for c in chunks] == [1, 1, 1, 0, 0]
    chunks[4].save(tmp_path / "empty.h5")
    with h5py.File(tmp_path / "empty.h5") as f:
        assert {name: f[name].shape for name in f} == {
            "row_indices": (0,),
            "col_indices": (0,),
            "values": (0,),
            "size": (1,),
        }
    empty = ChunkedDistanceMatrix.load(tmp_path / "empty.h5")
    assert (empty.size, empty.current_index) == (3, 0)
    np.testing.assert_array_equal(ChunkedDistanceMatrix.concat([empty, *chunks[:3]]).to_dense(), dense)
    one = ChunkedDistanceMatrix(1)
    assert one.is_complete()
    np.testing.assert_array_equal(one.to_dense(), np.zeros((1, 1)))


def test_file_layout_and_same_bytes(tmp_path: Path) -> None:
    dense = random_distances(7)
    chunk = fill_chunk(dense, 2, 1)
    chunk.save(tmp_path / "a.h5")
    time.sleep(1.1)
    chunk.save(tmp_path / "b.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()
    with h5py.File(tmp_path / "a.h5") as f:
        assert sorted(f) == ["col_indices", "row_indices", "size", "values"]
        assert dict(f.attrs) == {}
        expected = {"row_indices": "<i8", "col_indices": "<i8", "values": "<f8", "size": "<i8"}
        for name, dtype in expected.items():
            assert f[name].dtype == np.dtype(dtype), name
            assert (f[name].compression, f[name].compression_opts) == ("gzip", 4), name
        np.testing.assert_array_equal(f["size"][()], [7])
        start, stop = chunk_pair_range(7, 2, 1)
        assert f["values"].shape == (stop - start,) == (10,)
        i, j = unrank_pairs(np.arange(start, stop))
        np.testing.assert_array_equal(f["row_indices"][()], i)
        np.testing.assert_array_equal(f["col_indices"][()], j)
        np.testing.assert_array_equal(f["values"][()], dense[i, j])


def write_dataset(path: Path, **datasets: np.ndarray) -> Path:
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
    return path


GOOD = {
    "row_indices": np.array([1, 2], dtype=np.int64),
    "col_indices": np.array([0, 0], dtype=np.int64),
    "values": np.array([0.5, 0.25]),
    "size": np.array([3], dtype=np.int64),
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"values": None}, "values"),
        ({"values": np.array([1, 2], dtype=np.int64)}, "values"),
        ({"row_indices": np.array([1.0, 2.0])}, "row_indices"),
        ({"col_indices": np.array([0], dtype=np.int64)}, "col_indices"),
        ({"col_indices": np.array([0, 2], dtype=np.int64)}, "row_indices"),
        ({"row_indices": np.array([1, 3], dtype=np.int64)}, "row_indices"),
        ({"size": np.array([3, 4], dtype=np.int64)}, "size"),
        ({"size": None}, "size"),
    ],
)
def test_malformed_files_raise_input_error(tmp_path: Path, change: dict, field: str) -> None:
    datasets = {k: v for k, v in (GOOD | change).items() if v is not None}
    path = write_dataset(tmp_path / "bad.h5", **datasets)
    with pytest.raises(InputError) as info:
        ChunkedDistanceMatrix.load(path)
    assert (info.value.path, info.value.field) == (str(path), field)


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file"):
        ChunkedDistanceMatrix.load(tmp_path / "absent.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="readable HDF5"):
        ChunkedDistanceMatrix.load(tmp_path / "text.h5")
    # a scalar size (older writers) is accepted
    path = write_dataset(tmp_path / "scalar.h5", **(GOOD | {"size": np.int64(3)}))
    assert ChunkedDistanceMatrix.load(path).size == 3


def test_concat_rejects_mixed_sizes_and_empty_lists() -> None:
    with pytest.raises(ValueError, match="different sizes"):
        ChunkedDistanceMatrix.concat([ChunkedDistanceMatrix(3), ChunkedDistanceMatrix(4)])
    with pytest.raises(ValueError, match="at least one"):
        ChunkedDistanceMatrix.concat([])


def test_documented_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dense = random_distances(6)
    for k in range(4):
        fill_chunk(dense, 4, k).save(tmp_path / f"distance_matrix_chunk_{k}.h5")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(DOCUMENTED_SNIPPET.replace("batchie.", "snakelab.batchie."), namespace)
    np.testing.assert_array_equal(namespace["M"], dense)


def test_concat_of_50_chunks_at_400_thetas_is_fast(tmp_path: Path) -> None:
    # spec §12: BATCHIE took 524 s for this concat; the target is 1 s
    size, n_chunks = 400, 50
    dense = random_distances(size)
    for k in range(n_chunks):
        i, j = unrank_pairs(np.arange(*chunk_pair_range(size, n_chunks, k)))
        ChunkedDistanceMatrix.from_arrays(size, i, j, dense[i, j]).save(
            tmp_path / f"distance_matrix_chunk_{k}.h5"
        )
    files = glob.glob(str(tmp_path / "distance_matrix_chunk_*.h5"))
    start = time.perf_counter()
    chunks = [ChunkedDistanceMatrix.load(fn) for fn in files]
    loaded = time.perf_counter()
    joined = ChunkedDistanceMatrix.concat(chunks)
    result = joined.to_dense()
    done = time.perf_counter()
    print(f"load 50 chunks {loaded - start:.4f} s, concat + to_dense {done - loaded:.4f} s")
    assert joined.current_index == n_pairs(size) == 79_800
    np.testing.assert_array_equal(result, dense)
    assert done - start < 1.0
