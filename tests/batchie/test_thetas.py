"""ThetaHolder (spec §2.2, §2.6) and SparseDrugCombo thetas and predictions (spec §4 "Predictions")."""

from __future__ import annotations

import math
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.core import ThetaHolder
from snakelab.batchie.demo import demo_screens
from snakelab.batchie.models import sparse_combo
from snakelab.batchie.models.main import SparseDrugComboMCMCSample
from snakelab.batchie.models.sparse_combo import (
    StackedThetas,
    conditional_mean,
    conditional_variance,
    expit,
    stack_thetas,
    viability,
)
from snakelab.batchie.thetas import ThetaHolder as ThetaHolderImpl
from snakelab.core.errors import InputError

# BATCHIE's documented snippet (output-format documentation), verbatim
DOCUMENTED_SNIPPET = """\
import glob
from batchie.core import ThetaHolder
theta_holder = ThetaHolder(n_thetas=len(glob.glob("thetas_*.h5")))
theta_holders = [theta_holder.load_h5(fn) for fn in glob.glob("thetas_*.h5")]
thetas = theta_holder.concat(theta_holders)
thetas.get_theta(0)
"""


def random_theta(rng: np.random.Generator, c: int = 3, m: int = 4, d: int = 2) -> SparseDrugComboMCMCSample:
    return SparseDrugComboMCMCSample(
        W=rng.normal(size=(c, d)),
        W0=rng.normal(size=c),
        V2=rng.normal(size=(m, d)),
        V1=rng.normal(size=(m, d)),
        V0=rng.normal(size=m),
        alpha=float(rng.normal()),
        precision=float(rng.gamma(2.0, 10.0)),
    )


def holder_of(thetas: list[SparseDrugComboMCMCSample]) -> ThetaHolder:
    holder = ThetaHolder(len(thetas))
    for theta in thetas:
        holder.add_theta(theta)
    return holder


def assert_same_theta(a: SparseDrugComboMCMCSample, b: SparseDrugComboMCMCSample) -> None:
    for name in ("W", "W0", "V0", "V1", "V2"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.alpha, a.precision) == (b.alpha, b.precision)


# --- the theta dataclass -----------------------------------------------------------------------------


def test_theta_fields_and_dicts() -> None:
    theta = random_theta(np.random.default_rng(0), c=3, m=4, d=2)
    assert [f for f in SparseDrugComboMCMCSample.__dataclass_fields__] == [
        "W",
        "W0",
        "V2",
        "V1",
        "V0",
        "alpha",
        "precision",
    ]
    assert (theta.n_samples, theta.n_treatments, theta.n_embedding_dimensions) == (3, 4, 2)
    private = theta.private_parameters_dict()
    assert sorted(private) == ["V0", "V1", "V2", "W", "W0", "alpha", "precision"]
    assert theta.shared_parameters_dict() == {}
    assert_same_theta(SparseDrugComboMCMCSample.from_dicts(private, {}), theta)
    with pytest.raises(KeyError, match="V2"):
        SparseDrugComboMCMCSample.from_dicts({k: v for k, v in private.items() if k != "V2"}, {})
    with pytest.raises(ValueError, match="V1 must have shape"):
        SparseDrugComboMCMCSample.from_dicts(private | {"V1": np.zeros((4, 3))}, {})


# --- predictions -------------------------------------------------------------------------------------


def test_conditional_mean_by_hand() -> None:
    # C = 1, M = 2, D = 2
    theta = SparseDrugComboMCMCSample(
        W=np.array([[1.0, 2.0]]),
        W0=np.array([0.5]),
        V2=np.array([[1.0, -1.0], [3.0, 0.5]]),
        V1=np.array([[0.25, 0.0], [0.0, -0.5]]),
        V0=np.array([0.1, 0.2]),
        alpha=-1.0,
        precision=4.0,
    )
    samples = np.array([0, 0, 0, 0])
    treatments = np.array([[0, 1], [1, 0], [0, -1], [-1, -1]])
    # row 0: -1 + 0.5 + 0.1 + 0.2 + W·(0.25, -0.5) + W·(3, -0.5) = -0.2 - 0.75 + 2 = 1.05
    # row 2: -1 + 0.5 + 0.1 + W·(0.25, 0) = -0.15; row 3: -0.5
    expected = np.array([1.05, 1.05, -0.15, -0.5])
    np.testing.assert_allclose(theta.predict_conditional_mean((samples, treatments)), expected, atol=1e-15)
    # arity 1: alpha + W0 + V0[a] + W·V1[a]
    mean_1 = theta.predict_conditional_mean((np.array([0, 0, 0]), np.array([[0], [1], [-1]])))
    np.testing.assert_allclose(mean_1, [-0.15, -0.3 - 1.0, -0.5], atol=1e-15)
    np.testing.assert_allclose(
        theta.predict_viability((samples, treatments)), np.clip(1 / (1 + np.exp(-expected)), 0.01, 0.99)
    )
    np.testing.assert_array_equal(theta.predict_conditional_variance((samples, treatments)), [0.25] * 4)


def brute_force_mean(theta: SparseDrugComboMCMCSample, samples: np.ndarray, treatments: np.ndarray) -> list:
    out = []
    for c, row in zip(samples.tolist(), treatments.tolist(), strict=True):
        d = theta.n_embedding_dimensions
        v0 = [theta.V0[t] if t >= 0 else 0.0 for t in row]
        v1 = [theta.V1[t] if t >= 0 else np.zeros(d) for t in row]
        v2 = [theta.V2[t] if t >= 0 else np.zeros(d) for t in row]
        mu = (
            theta.alpha + theta.W0[c] + sum(v0) + sum(theta.W[c, e] * sum(v[e] for v in v1) for e in range(d))
        )
        if len(row) == 2:
            mu += sum(theta.W[c, e] * v2[0][e] * v2[1][e] for e in range(d))
        out.append(mu)
    return out


def random_rows(
    rng: np.random.Generator, n: int, c: int, m: int, arity: int
) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, c, size=n), rng.integers(-1, m, size=(n, arity))


@pytest.mark.parametrize("arity", [1, 2])
def test_per_theta_mean_equals_a_row_loop(arity: int) -> None:
    rng = np.random.default_rng(1)
    theta = random_theta(rng, c=5, m=7, d=3)
    samples, treatments = random_rows(rng, 200, 5, 7, arity)
    np.testing.assert_allclose(
        theta.predict_conditional_mean((samples, treatments)),
        brute_force_mean(theta, samples, treatments),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("arity", [1, 2])
@pytest.mark.parametrize("block_mb", [1e-9, 0.002, 256])
def test_batched_predictions_equal_per_theta_methods(arity: int, block_mb: float) -> None:
    rng = np.random.default_rng(2)
    thetas = [random_theta(rng, c=6, m=9, d=4) for _ in range(7)]
    samples, treatments = random_rows(rng, 301, 6, 9, arity)
    stacked = stack_thetas(thetas)
    mean = conditional_mean(stacked, samples, treatments, block_mb=block_mb)
    assert mean.shape == (7, 301) and mean.dtype == np.float64
    expected = np.stack([t.predict_conditional_mean((samples, treatments)) for t in thetas])
    np.testing.assert_allclose(mean, expected, rtol=0, atol=1e-12)
    via = viability(stacked, samples, treatments, block_mb=block_mb)
    expected_v = np.stack([t.predict_viability((samples, treatments)) for t in thetas])
    np.testing.assert_allclose(via, expected_v, rtol=0, atol=1e-12)
    assert via.min() >= 0.01 and via.max() <= 0.99
    np.testing.assert_array_equal(conditional_variance(stacked), [1.0 / t.precision for t in thetas])
    for k, theta in enumerate(thetas):
        np.testing.assert_array_equal(
            theta.predict_conditional_variance((samples, treatments)), np.full(301, 1.0 / thetas[k].precision)
        )


def test_predictions_on_the_demo_screen() -> None:
    screen, _ = demo_screens()
    rng = np.random.default_rng(3)
    thetas = [random_theta(rng, c=2, m=2, d=2) for _ in range(3)]
    holder = holder_of(thetas)
    via = viability(holder.stacked(), screen.sample_ids, screen.treatment_ids)
    for k, theta in enumerate(thetas):
        np.testing.assert_allclose(via[k], theta.predict_viability(screen), rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            theta.predict_conditional_mean(screen.get_plate(0)),
            theta.predict_conditional_mean(screen)[:4],
            rtol=0,
            atol=1e-15,
        )


def test_predictions_reject_bad_ids() -> None:
    theta = random_theta(np.random.default_rng(4), c=2, m=3, d=1)
    with pytest.raises(ValueError, match="sample ids"):
        theta.predict_conditional_mean((np.array([2]), np.array([[0, 1]])))
    with pytest.raises(ValueError, match="treatment ids"):
        theta.predict_conditional_mean((np.array([0]), np.array([[3, 1]])))
    with pytest.raises(ValueError, match="treatment ids"):
        conditional_mean(stack_thetas([theta]), np.array([0]), np.array([[-2, 1]]))
    with pytest.raises(ValueError, match="arity 1 or 2"):
        theta.predict_conditional_mean((np.array([0]), np.array([[0, 1, 2]])))


def test_expit_is_the_logistic_function_without_overflow() -> None:
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(expit(x), [1 / (1 + math.exp(-v)) for v in x], rtol=1e-15, atol=0)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(expit(np.array([-1e4, 0.0, 1e4])), [0.0, 0.5, 1.0])


# --- ThetaHolder -------------------------------------------------------------------------------------


def test_core_re_exports_the_holder() -> None:
    assert ThetaHolder is ThetaHolderImpl


def test_holder_slots_iteration_and_errors() -> None:
    rng = np.random.default_rng(5)
    thetas = [random_theta(rng) for _ in range(3)]
    holder = ThetaHolder(n_thetas=3)
    assert not holder.is_complete() and len(holder) == 0
    holder.add_theta(thetas[0])
    with pytest.raises(ValueError, match=r"0\.\.0"):
        holder.get_theta(1)
    holder.add_theta(thetas[1])
    holder.add_theta(thetas[2])
    assert holder.is_complete() and holder.n_thetas == 3 and holder.current_index == 3
    assert [t is s for t, s in zip(holder, thetas, strict=True)] == [True] * 3
    assert holder.get_theta(2) is thetas[2]
    for bad in (-1, 3):
        with pytest.raises(ValueError, match="theta index"):
            holder.get_theta(bad)
    with pytest.raises(ValueError, match="full"):
        holder.add_theta(thetas[0])
    with pytest.raises(TypeError):
        ThetaHolder(1).add_theta(thetas[0].private_parameters_dict())


def test_stacked_shapes_and_inverse() -> None:
    rng = np.random.default_rng(6)
    thetas = [random_theta(rng, c=3, m=5, d=2) for _ in range(4)]
    stacked = holder_of(thetas).stacked()
    assert isinstance(stacked, StackedThetas) and stacked.n_thetas == 4
    shapes = {name: getattr(stacked, name).shape for name in stacked._fields}
    assert shapes == {
        "W": (4, 3, 2),
        "W0": (4, 3),
        "V0": (4, 5),
        "V1": (4, 5, 2),
        "V2": (4, 5, 2),
        "alpha": (4,),
        "precision": (4,),
    }
    np.testing.assert_array_equal(stacked.V1[2], thetas[2].V1)
    np.testing.assert_array_equal(stacked.precision, [t.precision for t in thetas])
    back = ThetaHolder.from_stacked(stacked)
    assert back.is_complete() and back.n_thetas == 4
    for a, b in zip(back, thetas, strict=True):
        assert_same_theta(a, b)
    with pytest.raises(ValueError, match="shape of W"):
        stack_thetas([thetas[0], random_theta(rng, c=4, m=5, d=2)])


def test_concat_follows_list_order() -> None:
    rng = np.random.default_rng(7)
    a, b = holder_of([random_theta(rng) for _ in range(2)]), holder_of([random_theta(rng) for _ in range(3)])
    joined = ThetaHolder.concat([b, a])
    assert joined.n_thetas == 5 and joined.is_complete()
    assert [t for t in joined] == [*b, *a]
    assert [t for t in a.combine(b)] == [*a, *b]
    assert len(a) == 2 and len(b) == 3


def test_round_trip_and_file_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    thetas = [random_theta(rng, c=3, m=4, d=2) for _ in range(12)]
    holder_of(thetas).save_h5(tmp_path / "thetas_0.h5")
    loaded = ThetaHolder.load_h5(tmp_path / "thetas_0.h5")
    assert loaded.n_thetas == 12 and loaded.is_complete()
    for a, b in zip(loaded, thetas, strict=True):  # numeric, not lexicographic, key order (10 after 9)
        assert_same_theta(a, b)
    with h5py.File(tmp_path / "thetas_0.h5") as f:
        assert dict(f.attrs) == {
            "n_thetas": 12,
            "theta_class": "SparseDrugComboMCMCSample",
            "theta_module": "batchie.models.sparse_combo",
        }
        assert f.attrs["n_thetas"].dtype == np.int64
        assert isinstance(f.attrs["theta_class"], str) and isinstance(f.attrs["theta_module"], str)
        assert sorted(f) == ["private_params", "shared_params"]
        assert len(f["shared_params"]) == 0 and len(f["shared_params"].attrs) == 0
        assert sorted(f["private_params"], key=int) == [str(i) for i in range(12)]
        shapes = {"W": (3, 2), "W0": (3,), "V0": (4,), "V1": (4, 2), "V2": (4, 2)}
        for i in range(12):
            group = f[f"private_params/{i}"]
            assert sorted(group) == sorted(shapes)
            for name, shape in shapes.items():
                ds = group[name]
                assert (ds.dtype, ds.shape, ds.compression, ds.compression_opts) == (
                    np.float64,
                    shape,
                    "gzip",
                    4,
                ), name
            assert sorted(group.attrs) == ["alpha", "precision"]
            assert group.attrs["alpha"].dtype == group.attrs["precision"].dtype == np.float64
            assert group.attrs["precision"] == thetas[i].precision


def test_same_thetas_give_the_same_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    holder = holder_of([random_theta(rng) for _ in range(3)])
    holder.save_h5(tmp_path / "a.h5")
    time.sleep(1.1)
    ThetaHolder.from_stacked(holder.stacked()).save_h5(tmp_path / "b.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_incomplete_holders_are_not_saved(tmp_path: Path) -> None:
    holder = ThetaHolder(2)
    holder.add_theta(random_theta(np.random.default_rng(10)))
    with pytest.raises(ValueError, match="1 of 2"):
        holder.save_h5(tmp_path / "t.h5")
    assert not (tmp_path / "t.h5").exists()


@pytest.mark.parametrize("module", ["batchie.models.sparse_combo", "snakelab.batchie.models.sparse_combo"])
def test_both_theta_modules_load(tmp_path: Path, module: str) -> None:
    theta = random_theta(np.random.default_rng(11))
    path = tmp_path / "t.h5"
    holder_of([theta]).save_h5(path)
    with h5py.File(path, "a") as f:
        f.attrs["theta_module"] = module
    assert_same_theta(ThetaHolder.load_h5(path).get_theta(0), theta)


def test_a_batchie_style_file_loads(tmp_path: Path) -> None:
    # bytes attributes, float32 arrays, scalar attributes written as Python floats, keys created out of order
    rng = np.random.default_rng(12)
    thetas = [random_theta(rng, c=2, m=3, d=2) for _ in range(11)]
    path = tmp_path / "thetas.h5"
    with h5py.File(path, "w") as f:
        f.attrs["n_thetas"] = 11
        f.attrs["theta_class"] = np.bytes_(b"SparseDrugComboMCMCSample")
        f.attrs["theta_module"] = np.bytes_(b"batchie.models.sparse_combo")
        f.create_group("shared_params")
        for i in [10, 3, 0, 1, 2, 9, 4, 5, 6, 7, 8]:
            group = f.create_group(f"private_params/{i}")
            for name in ("W", "W0", "V0", "V1", "V2"):
                group.create_dataset(name, data=getattr(thetas[i], name))
            group.attrs["alpha"] = thetas[i].alpha
            group.attrs["precision"] = thetas[i].precision
    loaded = ThetaHolder.load_h5(path)
    for a, b in zip(loaded, thetas, strict=True):
        assert_same_theta(a, b)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("theta_module", "batchie.models.other"), ("theta_module", "sparse_combo"), ("theta_class", "Other")],
)
def test_a_foreign_theta_class_fails(tmp_path: Path, attribute: str, value: str) -> None:
    path = tmp_path / "t.h5"
    holder_of([random_theta(np.random.default_rng(13))]).save_h5(path)
    with h5py.File(path, "a") as f:
        f.attrs[attribute] = value
    with pytest.raises(InputError) as info:
        ThetaHolder.load_h5(path)
    assert (info.value.path, info.value.field) == (str(path), attribute)
    assert value in str(info.value)


def corrupt(path: Path, action: str) -> None:
    with h5py.File(path, "a") as f:
        if action == "missing W":
            del f["private_params/1/W"]
        elif action == "int V0":
            del f["private_params/1/V0"]
            f["private_params/1"].create_dataset("V0", data=np.arange(4))
        elif action == "missing precision":
            del f["private_params/1"].attrs["precision"]
        elif action == "missing group":
            del f["private_params/1"]
        elif action == "bad n_thetas":
            f.attrs["n_thetas"] = 1.5
        elif action == "shape mismatch":
            del f["private_params/1/W0"]
            f["private_params/1"].create_dataset("W0", data=np.zeros(5))


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("missing W", "private_params/1/W"),
        ("int V0", "private_params/1/V0"),
        ("missing precision", "private_params/1@precision"),
        ("missing group", "private_params"),
        ("bad n_thetas", "n_thetas"),
        ("shape mismatch", "private_params/1"),
    ],
)
def test_malformed_files_raise_input_error(tmp_path: Path, action: str, field: str) -> None:
    path = tmp_path / "t.h5"
    rng = np.random.default_rng(14)
    holder_of([random_theta(rng, c=3, m=4, d=2) for _ in range(2)]).save_h5(path)
    corrupt(path, action)
    with pytest.raises(InputError) as info:
        ThetaHolder.load_h5(path)
    assert (info.value.path, info.value.field) == (str(path), field)
    with pytest.raises(InputError, match="existing HDF5 file"):
        ThetaHolder.load_h5(tmp_path / "absent.h5")


def test_documented_snippet_runs_on_two_chain_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(15)
    chains = [[random_theta(rng) for _ in range(3)] for _ in range(2)]
    for c, thetas in enumerate(chains):
        holder_of(thetas).save_h5(tmp_path / f"thetas_{c}.h5")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(DOCUMENTED_SNIPPET.replace("batchie.", "snakelab.batchie."), namespace)
    thetas = namespace["thetas"]
    assert thetas.n_thetas == 6 and thetas.is_complete()
    first = namespace["theta_holders"][0].get_theta(0)
    assert_same_theta(thetas.get_theta(0), first)
    assert any(np.array_equal(first.W, chain[0].W) for chain in chains)


def test_importing_loads_only_numpy_and_h5py() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import snakelab.batchie.core, snakelab.batchie.models.main\n"
        "import snakelab.batchie.distance_calculation, snakelab.batchie.scoring.main\n"
        "heavy = {'scipy', 'pandas', 'torch', 'matplotlib', 'seaborn', 'jax', 'tqdm', 'batchie'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert sparse_combo.__name__ == "snakelab.batchie.models.sparse_combo"
