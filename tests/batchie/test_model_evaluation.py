"""ModelEvaluation (spec §2.4, §2.6): the three statistics, mean predictions, file layout, errors."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.models.evaluation import ModelEvaluation as ModelEvaluationImpl
from snakelab.batchie.models.main import ModelEvaluation
from snakelab.core.errors import InputError

# BATCHIE's documented snippet (output-format documentation), verbatim
DOCUMENTED_SNIPPET = """\
from batchie.models.main import ModelEvaluation
model_evaluation = ModelEvaluation.load_h5("model_evaluation.h5")
model_evaluation.mse()
"""


def small_example() -> ModelEvaluation:
    # E = [[0.01, 0.01, 0.09], [0.04, 0.04, 0.16]]; chains: thetas 0, 1 -> chain 0, theta 2 -> chain 1
    return ModelEvaluation(
        predictions=np.array([[0.1, 0.3, 0.5], [0.4, 0.8, 1.0]]),
        observations=np.array([0.2, 0.6]),
        chain_ids=np.array([0, 0, 1]),
        sample_names=np.array(["s1", "s2"]),
    )


def test_statistics_by_hand() -> None:
    evaluation = small_example()
    np.testing.assert_allclose(evaluation.squared_errors(), [[0.01, 0.01, 0.09], [0.04, 0.04, 0.16]])
    # mean over all six errors
    assert evaluation.mse() == pytest.approx(0.35 / 6, rel=1e-12)
    # per-experiment means 0.11/3 and 0.24/3; population variance = (difference / 2)²
    assert evaluation.mse_variance() == pytest.approx((0.13 / 3 / 2) ** 2, rel=1e-12)
    # chain 0: (0.01 + 0.01 + 0.04 + 0.04) / 4 = 0.025; chain 1: (0.09 + 0.16) / 2 = 0.125
    assert evaluation.inter_chain_mse_variance() == pytest.approx(0.05**2, rel=1e-12)
    np.testing.assert_allclose(evaluation.mean_predictions(), [0.3, 2.2 / 3], rtol=1e-15)
    assert isinstance(evaluation.mse(), float)
    assert (evaluation.n_experiments, evaluation.n_thetas) == (2, 3)


def test_statistics_equal_loops_on_random_data() -> None:
    rng = np.random.default_rng(0)
    n_exp, k = 13, 10
    chain_ids = np.array([2, 0, 0, 2, 1, 1, 1, 0, 2, 2])  # unequal chain sizes, not in order
    evaluation = ModelEvaluation(
        rng.random((n_exp, k)), rng.random(n_exp), chain_ids, [f"s{i % 3}" for i in range(n_exp)]
    )
    p, o = evaluation.predictions, evaluation.observations
    errors = [[(p[e, t] - o[e]) ** 2 for t in range(k)] for e in range(n_exp)]
    total = sum(sum(row) for row in errors)
    assert evaluation.mse() == pytest.approx(total / (n_exp * k), rel=1e-12)
    row_means = [sum(row) / k for row in errors]
    mean = sum(row_means) / n_exp
    assert evaluation.mse_variance() == pytest.approx(
        sum((m - mean) ** 2 for m in row_means) / n_exp, rel=1e-12
    )
    chain_means = []
    for chain in (0, 1, 2):
        cells = [errors[e][t] for e in range(n_exp) for t in range(k) if chain_ids[t] == chain]
        chain_means.append(sum(cells) / len(cells))
    grand = sum(chain_means) / 3
    expected = sum((m - grand) ** 2 for m in chain_means) / 3
    assert evaluation.inter_chain_mse_variance() == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        evaluation.mean_predictions(), [sum(p[e]) / k for e in range(n_exp)], rtol=1e-14
    )


def test_one_chain_has_zero_inter_chain_variance() -> None:
    evaluation = ModelEvaluation(np.array([[0.5, 0.25]]), np.array([0.0]), np.array([3, 3]), ["a"])
    assert evaluation.inter_chain_mse_variance() == 0.0
    assert evaluation.mse_variance() == 0.0
    assert evaluation.mse() == pytest.approx((0.25 + 0.0625) / 2)


def test_round_trip_file_layout_and_same_bytes(tmp_path: Path) -> None:
    evaluation = ModelEvaluation(
        np.array([[0.1, 0.3], [0.4, 0.8], [0.2, 0.2]]),
        np.array([0.2, 0.6, 0.1]),
        np.array([0, 1]),
        np.array(["sample_A", "échantillon", "B"]),
    )
    evaluation.save_h5(tmp_path / "model_evaluation.h5")
    time.sleep(1.1)
    evaluation.save_h5(tmp_path / "again.h5")
    assert (tmp_path / "model_evaluation.h5").read_bytes() == (tmp_path / "again.h5").read_bytes()
    with h5py.File(tmp_path / "model_evaluation.h5") as f:
        assert sorted(f) == ["chain_ids", "observations", "predictions", "sample_names"]
        expected = {
            "predictions": (np.dtype("<f8"), (3, 2)),
            "observations": (np.dtype("<f8"), (3,)),
            "chain_ids": (np.dtype("<i8"), (2,)),
            "sample_names": (np.dtype("S12"), (3,)),  # "échantillon" is 12 UTF-8 bytes
        }
        for name, (dtype, shape) in expected.items():
            assert (f[name].dtype, f[name].shape) == (dtype, shape), name
            assert (f[name].compression, f[name].compression_opts) == ("gzip", 4), name
        assert f["sample_names"][1] == "échantillon".encode()
        assert dict(f.attrs) == {}
    loaded = ModelEvaluation.load_h5(tmp_path / "model_evaluation.h5")
    for name in ("predictions", "observations", "chain_ids", "sample_names"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(evaluation, name), err_msg=name)
    assert loaded.sample_names.dtype.kind == "U"
    assert loaded.mse() == evaluation.mse()


def test_variable_length_sample_names_load(tmp_path: Path) -> None:
    path = tmp_path / "vlen.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("predictions", data=np.array([[0.5]]))
        f.create_dataset("observations", data=np.array([0.5]))
        f.create_dataset("chain_ids", data=np.array([0]))
        f.create_dataset("sample_names", data=["x"], dtype=h5py.string_dtype())
    assert ModelEvaluation.load_h5(path).sample_names.tolist() == ["x"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"predictions": None}, "predictions"),
        ({"predictions": np.array([0.1, 0.2])}, "predictions"),
        ({"observations": np.array([0.1])}, "observations"),
        ({"chain_ids": np.array([0.0, 1.0])}, "chain_ids"),
        ({"chain_ids": np.array([0])}, "chain_ids"),
        ({"sample_names": np.array([1, 2])}, "sample_names"),
        ({"sample_names": np.array([b"a"])}, "sample_names"),
    ],
)
def test_malformed_files_raise_input_error(tmp_path: Path, change: dict, field: str) -> None:
    good = {
        "predictions": np.array([[0.1, 0.3], [0.4, 0.8]]),
        "observations": np.array([0.2, 0.6]),
        "chain_ids": np.array([0, 1]),
        "sample_names": np.array([b"a", b"b"]),
    }
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        for name, data in (good | change).items():
            if data is not None:
                f.create_dataset(name, data=data)
    with pytest.raises(InputError) as info:
        ModelEvaluation.load_h5(path)
    assert (info.value.path, info.value.field) == (str(path), field)
    with pytest.raises(InputError, match="existing HDF5 file"):
        ModelEvaluation.load_h5(tmp_path / "absent.h5")


def test_documented_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small_example().save_h5(tmp_path / "model_evaluation.h5")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(DOCUMENTED_SNIPPET.replace("batchie.", "snakelab.batchie."), namespace)
    assert namespace["model_evaluation"].mse() == pytest.approx(0.35 / 6, rel=1e-12)
    assert ModelEvaluation is ModelEvaluationImpl
