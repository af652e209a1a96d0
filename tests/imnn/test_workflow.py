"""The imnn pipeline through Snakemake (spec §14, test 10): every output, nothing to redo, the same
history bytes when the fit reruns, and a bad config failing before any job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TINY = {
    "imnn": {
        "n_s": 100,
        "n_d": 100,
        "n_chunks": 1,
        "n_per_device": 50,
        "network": {"kind": "mlp", "hidden": [16], "activation": "softplus", "linear_skip": True},
        "fit": {"max_iterations": 40, "min_iterations": 10, "patience": 20, "chunk": 20},
        "lfi": {"gridsize": 20, "abc": {"n_chunks": 2, "n_per_chunk": 1000}, "pmc": {"n_points": 50}},
    }
}


def _run_dir(workdir: Path) -> Path:
    (run,) = (workdir / "results" / "imnn").iterdir()
    return run


@pytest.mark.workflow
@pytest.mark.slow
def test_demo_builds_every_output_and_reruns_identically(workflow) -> None:
    wf = workflow(TINY, base="config/examples/imnn_demo.yaml")
    wf.run()
    run = _run_dir(wf.workdir)
    expected = [
        "config.json",
        "sims/target.npz",
        "tfrecords/fiducial/manifest.json",
        "tfrecords/validation_derivative/fiducial_00000.tfrecords".replace(
            "fiducial_", "validation_derivative_"
        ),
        "fit/weights.npz",
        "fit/statistics.npz",
        "fit/history.npz",
        "fit/history.csv",
        "fit/metrics.json",
        "compress/targets.npz",
        "lfi/ga.npz",
        "lfi/abc_chunk_000.npz",
        "lfi/abc_chunk_001.npz",
        "lfi/abc.npz",
        "lfi/abc.json",
        "lfi/pmc.npz",
        "plots/history.png",
        "plots/posterior_t0.png",
        "plots/posterior_summary.json",
    ]
    assert [p for p in expected if not (run / p).is_file()] == []
    metrics = json.loads((run / "fit/metrics.json").read_text())
    with np.load(run / "fit/history.npz") as h:
        assert len(h["detF"]) == len(h["val_detF"]) == metrics["iterations"]
        assert float(h["val_detF"][metrics["best_iteration"]]) == pytest.approx(float(h["max_detF"]))
    with np.load(run / "compress/targets.npz") as t:
        np.testing.assert_array_equal(t["theta"], [[0.5, 1.5]])
        assert t["theta_hat"].shape == (1, 2)
    assert "Nothing to be done" in wf.run().output
    history = (run / "fit/history.npz").read_bytes()
    weights = (run / "fit/weights.npz").read_bytes()
    wf.run("--forcerun", "imnn_fit", targets=[str((run / "fit/metrics.json").relative_to(wf.workdir))])
    assert (run / "fit/history.npz").read_bytes() == history
    assert (run / "fit/weights.npz").read_bytes() == weights


@pytest.mark.workflow
def test_bad_config_fails_before_any_job(workflow) -> None:
    wf = workflow({"imnn": {"n_s": 100, "n_d": 200}}, base="config/examples/imnn_demo.yaml")
    run = wf.run("--dry-run", check=False)
    assert run.returncode != 0
    assert "imnn.n_d: expected n_d <= n_s = 100, got 200" in run.output
    assert not (wf.workdir / "results").exists()
