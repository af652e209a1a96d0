"""CLI stages: light start, one-line errors on bad input with nothing written, the stage chain
(spec §12, §13 and the bad-input list of the issue)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from snakelab.cli import main
from snakelab.imnn import config
from tests.test_cli import HEAVY, imported_modules


def _config(tmp_path: Path, **section: Any) -> Path:
    path = tmp_path / "run" / "config.json"
    rc = main(["imnn", "config", "--section-json", json.dumps(section), "--output", str(path)])
    assert rc == 0
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], rc: int, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_help_and_config_stage_import_no_framework(tmp_path: Path) -> None:
    assert not imported_modules(["imnn", "--help"], tmp_path) & set(HEAVY)
    section = json.dumps({"n_s": 10, "n_d": 10})
    modules = imported_modules(["imnn", "config", "--section-json", section, "--output", "c.json"], tmp_path)
    assert not modules & {"jax", "tensorflow", "torch", "matplotlib"}
    resolved = json.loads((tmp_path / "c.json").read_text())
    assert resolved["theta_fid"] == [0.0, 1.0] and resolved["fit"]["best"] is False
    assert config.run_name(resolved).startswith("imnn-") and len(config.run_name(resolved)) == 13


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"n_s": 10, "n_d": 20}, ("imnn.n_d", "20", "n_d <= n_s = 10")),
        ({"storage": "aggregated", "n_s": 250, "n_d": 200}, ("imnn.n_s", "250", "1 * 100")),
        ({"theta_fid": [0.0, 9.0]}, ("imnn.theta_fid", "inside the prior box")),
        ({"mode": "numerical", "delta_theta": [0.1]}, ("imnn.delta_theta", "2 values")),
        ({"prior": {"low": [0, 2], "high": [1, 1]}}, ("imnn.prior", "low < high")),
        ({"target": {"theta": [[0.1]]}}, ("imnn.target.theta", "2 values")),
    ],
)
def test_config_errors_are_one_line(tmp_path: Path, capsys, section: dict, words: tuple[str, ...]) -> None:
    out = tmp_path / "c.json"
    rc = main(["imnn", "config", "--section-json", json.dumps(section), "--output", str(out)])
    _one_line_error(capsys, rc, *words)
    assert not out.exists()


USER = {
    "prior": {"low": [-1.0], "high": [1.0]},
    "theta_fid": [0.0],
    "mode": "gradient",
    "n_s": 4,
    "n_d": 4,
    "target": {"theta": [[0.1]]},
}


@pytest.mark.parametrize(
    ("name", "words"),
    [("nan_data", ("expected finite values", "NaN")), ("wrong_shape", ("expected shape (2, 6)", "(2, 5)"))],
)
def test_bad_simulator_output_writes_nothing(
    tmp_path: Path, capsys, name: str, words: tuple[str, ...]
) -> None:
    cfg = _config(tmp_path, simulator={"name": f"tests.imnn.user_simulators:{name}"}, n_chunks=2, **USER)
    out = tmp_path / "run" / "sims" / "fiducial" / "chunk_000.npz"
    rc = main(
        ["imnn", "simulate", "--config", str(cfg), "--set", "fiducial", "--chunk", "0", "--output", str(out)]
    )
    _one_line_error(capsys, rc, *words)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def _external(tmp_path: Path, fiducial: np.ndarray, derivative: np.ndarray, **extra: Any) -> Path:
    np.save(tmp_path / "fid.npy", fiducial)
    np.save(tmp_path / "der.npy", derivative)
    data = {"fiducial": str(tmp_path / "fid.npy"), "derivative": str(tmp_path / "der.npy")}
    section = {
        "simulator": None,
        "data": data,
        "mode": "gradient",
        "validate": False,
        "theta_fid": [0.0, 1.0],
        "prior": {"low": [-1, 0], "high": [1, 2]},
        "n_s": 20,
        "n_d": 20,
        "n_chunks": 1,
        "network": {"kind": "mlp", "hidden": [4]},
        "fit": {"max_iterations": 3, "chunk": 3},
        "target": {"path": str(tmp_path / "fid.npy")},
        **extra,
    }
    return _config(tmp_path, **section)


def _fit(cfg: Path, tmp_path: Path, *extra: str) -> int:
    return main(["imnn", "fit", "--config", str(cfg), "--output-dir", str(tmp_path / "fit"), *extra])


@pytest.mark.slow
def test_bad_arrays_and_singular_covariance(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    fid = rng.normal(size=(20, 5)).astype(np.float32)
    cfg = _external(tmp_path, fid, rng.normal(size=(20, 4, 2)).astype(np.float32))
    _one_line_error(capsys, _fit(cfg, tmp_path), "der.npy", "expected shape (20, 5, 2)", "(20, 4, 2)")
    bad = fid.copy()
    bad[3, 2] = np.nan
    cfg = _external(tmp_path, bad, rng.normal(size=(20, 5, 2)).astype(np.float32))
    _one_line_error(capsys, _fit(cfg, tmp_path), "fid.npy", "NaN")
    cfg = _external(tmp_path, np.zeros((20, 5), np.float32), np.zeros((20, 5, 2), np.float32))
    _one_line_error(capsys, _fit(cfg, tmp_path), "singular")
    assert not (tmp_path / "fit").exists() or not list((tmp_path / "fit").glob("*.npz"))


@pytest.mark.slow
def test_tfrecords_with_another_input_shape(tmp_path: Path, capsys) -> None:
    pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    cfg = _external(
        tmp_path,
        rng.normal(size=(20, 5)).astype(np.float32),
        rng.normal(size=(20, 5, 2)).astype(np.float32),
        storage="dataset",
        n_per_device=10,
    )
    records = tmp_path / "run" / "tfrecords"
    for name in ("fiducial", "derivative"):
        assert (
            main(
                [
                    "imnn",
                    "tfrecords",
                    "--config",
                    str(cfg),
                    "--set",
                    name,
                    "--output-dir",
                    str(records / name),
                ]
            )
            == 0
        )
    manifest = json.loads((records / "fiducial" / "manifest.json").read_text())
    assert manifest["fiducial"]["input_shape"] == [5] and manifest["fiducial"]["n_sims"] == 20
    np.save(tmp_path / "fid.npy", rng.normal(size=(20, 6)).astype(np.float32))  # the config now sees (6,)
    rc = _fit(cfg, tmp_path, "--tfrecords-dir", str(records))
    _one_line_error(capsys, rc, "manifest.json", "fiducial.input_shape", "expected [6], found [5]")
    assert not (tmp_path / "fit" / "weights.npz").exists()


@pytest.mark.slow
def test_fit_compress_and_lineage_on_external_data(tmp_path: Path) -> None:
    """Gradient mode on supplied arrays: the fit writes every output, records itself in the store, and the
    estimator of the written statistics reproduces the score compression of its summaries."""
    from snakelab.imnn import estimator
    from snakelab.store import open_store
    from snakelab.store.query import runs_df

    rng = np.random.default_rng(2)
    fid = rng.normal(size=(20, 5)).astype(np.float32)
    cfg = _external(tmp_path, fid, rng.normal(size=(20, 5, 2)).astype(np.float32))
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert _fit(cfg, tmp_path, "--store", url) == 0
    fit = tmp_path / "fit"
    metrics = json.loads((fit / "metrics.json").read_text())
    assert metrics["iterations"] == 3 and metrics["detF_analytic"] is None
    stats = estimator.load_statistics(fit / "statistics.npz")
    np.testing.assert_allclose(stats["invF"] @ stats["F"], np.eye(2), atol=1e-4)
    assert metrics["detF_final"] == pytest.approx(float(np.linalg.det(stats["F"])), rel=1e-5)
    store = open_store(url)
    try:
        runs = runs_df(store, pipeline="imnn")
    finally:
        store.dispose()
    assert list(runs["kind"]) == ["fit"] and list(runs["status"]) == ["succeeded"]
    assert (tmp_path / "lineage" / "fit" / "run.json").exists()  # <run>/lineage/fit beside <run>/fit
    target = tmp_path / "target.npz"
    np.savez(target, data=fid[:3])
    out = tmp_path / "targets.npz"
    argv = ["imnn", "compress", "--config", str(cfg), "--fit-dir", str(fit), "--target", str(target)]
    assert main([*argv, "--output", str(out)]) == 0
    with np.load(out) as z:
        assert z["theta_hat"].shape == (3, 2) and "theta" not in z


def test_posterior_summary_of_a_gaussian_marginal() -> None:
    from snakelab.imnn.stages.plot import marginal_summary

    grid = np.linspace(-10.0, 10.0, 4001)
    density = np.exp(-0.5 * ((grid - 0.7) / 1.3) ** 2)
    s = marginal_summary(grid, density)
    assert s["mean"] == pytest.approx(0.7, abs=1e-6)
    assert s["low68"] == pytest.approx(0.7 - 0.9945 * 1.3, abs=2e-3)  # Φ⁻¹(0.16) = −0.9945
    assert s["high68"] == pytest.approx(0.7 + 0.9945 * 1.3, abs=2e-3)


@pytest.mark.slow
def test_resumed_fit_stage_equals_the_uninterrupted_one(tmp_path: Path) -> None:
    """Simulator mode with ``fit.standardise``: a fit resumed from its iteration-8 checkpoint writes the
    same weights, statistics and history as the uninterrupted fit (the resumed run takes the checkpoint's
    weights and does not standardise again)."""
    import shutil

    section = {
        "simulator": {"name": "gaussian", "args": {"n_data": 10}},
        "mode": "simulator",
        "n_s": 40,
        "n_d": 40,
        "network": {"kind": "mlp", "hidden": [8]},
        "fit": {"max_iterations": 12, "min_iterations": 12, "chunk": 4, "checkpoint_every": 4},
        "final_n_s": 200,
    }
    cfg = _config(tmp_path, **section)
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert main(["imnn", "fit", "--config", str(cfg), "--output-dir", str(whole)]) == 0
    resumed.mkdir()
    shutil.copy(whole / "checkpoint_000008.npz", resumed)
    assert main(["imnn", "fit", "--config", str(cfg), "--output-dir", str(resumed), "--resume"]) == 0
    for name in ("weights.npz", "statistics.npz", "history.npz"):
        with np.load(whole / name) as a, np.load(resumed / name) as b:
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}:{key}")
