"""batchie end to end (spec §11.7, §11.8): BATCHIE's documented tree, its contents, determinism."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from tests.harness import Workflow

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = "config/examples/batchie_reference_demo.yaml"
#: The reference demo with PDBAL scoring (all triples) in place of random scores, evaluated on the
#: held-out test screen (our default).
PDBAL = {
    "arms": {"random": {"scorer": {"name": "GaussianDBALScorer", "params": {"max_triples": None}}}},
    "evaluation": {"screen": "test"},
}


def _run(tmp_path_factory, name: str, overrides: dict | None = None) -> Path:
    wf = Workflow(tmp_path_factory.mktemp(name))
    wf.write_config(overrides, base=REFERENCE)
    wf.run()
    return wf.workdir


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """Working directory of one run of BATCHIE's reference demo, recorded in a SQLite metastore."""
    return _run(tmp_path_factory, "reference", {"store": {"url": "sqlite:///results/snakelab.sqlite"}})


@pytest.fixture(scope="module")
def pdbal_runs(tmp_path_factory) -> dict[str, Path]:
    """PDBAL runs: ``a`` and ``b`` with the same config (2 chunks), ``c1`` and ``c3`` with 1 and 3 chunks."""
    chunks = {"a": 2, "b": 2, "c1": 1, "c3": 3}
    return {
        name: _run(tmp_path_factory, name, {"batchie": {**PDBAL, "n_chunks": n}})
        for name, n in chunks.items()
    }


def replicate_root(workdir: Path, arm: str = "random", rep: int = 0) -> Path:
    (root,) = workdir.glob(f"results/batchie/*/{arm}/rep_{rep}")
    return root


def tree(root: Path) -> list[str]:
    """Files under ``root``; Snakemake's ``.snakemake_timestamp`` marker of directory outputs excluded."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")
    )


def steps(root: Path) -> list[Path]:
    return sorted(root.glob("iter_*/plate_*/unmasked_screen"))


def selections(root: Path) -> list[int]:
    return [int((d / "selected_plate").read_text()) for d in steps(root)]


def test_reference_demo_gives_batchies_documented_tree(reference: Path) -> None:
    root = replicate_root(reference)
    assert tree(root) == (FIXTURES / "batchie_reference_demo_tree.txt").read_text().split()
    assert (root / "iter_1/plate_0/unmasked_screen/score_chunk_1.h5").is_file()
    empty = ChunkedScoresHolder.load_h5(root / "iter_1/plate_0/unmasked_screen/score_chunk_1.h5")
    assert empty.plate_ids.size == 0

    metadata = [json.loads((d / "screen_metadata.json").read_text()) for d in steps(root)]
    assert [m["n_unobserved_plates"] for m in metadata] == [3, 2, 1, 0]
    assert list(metadata[-1].items()) == [
        ("n_unique_samples", 2),
        ("n_unique_treatments", 2),
        ("size", 8),
        ("n_plates", 5),
        ("n_unobserved_plates", 0),
        ("n_observed_plates", 5),
    ]
    texts = [(d / "selected_plate").read_bytes() for d in steps(root)]
    assert all(t.isdigit() for t in texts)
    assert sorted(selections(root)) == [0, 2, 3, 4]

    import h5py

    with h5py.File(root / "iter_0/plate_0/unmasked_screen/model_evaluation.h5") as f:
        assert f["predictions"].shape == (8, 6)
    summary = reference.glob("results/batchie/*/summary/trajectory.tsv")
    lines = next(summary).read_text().splitlines()
    assert len(lines) == 5
    assert lines[0].split("\t")[:6] == ["arm", "rep", "iter", "plate", "selected_plate", "plate_name"]


def test_documented_snippets_run_on_our_output(reference: Path, monkeypatch) -> None:
    step = replicate_root(reference) / "iter_0/plate_0/unmasked_screen"
    monkeypatch.chdir(step)

    from snakelab.batchie.core import ThetaHolder
    from snakelab.batchie.distance_calculation import ChunkedDistanceMatrix
    from snakelab.batchie.models.main import ModelEvaluation
    from snakelab.batchie.scoring.main import ChunkedScoresHolder as Scores

    distance_matrix = ChunkedDistanceMatrix.concat(
        [ChunkedDistanceMatrix.load(fn) for fn in glob.glob("distance_matrix_chunk_*.h5")]
    )
    m = distance_matrix.to_dense()
    assert m.shape == (6, 6)
    np.testing.assert_array_equal(m, m.T)
    assert (np.diag(m) == 0).all() and (m[~np.eye(6, dtype=bool)] > 0).all()

    model_evaluation = ModelEvaluation.load_h5("model_evaluation.h5")
    assert 0 < model_evaluation.mse() < 1

    scores = Scores.concat([Scores.load_h5(fn) for fn in glob.glob("score_chunk_*.h5")])
    assert sorted(scores.plate_ids.tolist()) == [0, 2, 3, 4]
    assert isinstance(scores.get_score(int(Path("selected_plate").read_text())), float)

    theta_holder = ThetaHolder(n_thetas=len(glob.glob("thetas_*.h5")))
    theta_holders = [theta_holder.load_h5(fn) for fn in glob.glob("thetas_*.h5")]
    thetas = theta_holder.concat(theta_holders)
    assert thetas.n_thetas == 6
    assert thetas.get_theta(0).W.shape == (2, 2)


def test_evaluation_on_the_test_screen(pdbal_runs: dict[str, Path]) -> None:
    root = replicate_root(pdbal_runs["a"])
    import h5py

    with h5py.File(root / "iter_1/plate_0/unmasked_screen/model_evaluation.h5") as f:
        assert f["predictions"].shape == (4, 6)
    test = Screen.load_h5(root / "iter_0/plate_0/unmasked_screen/test.screen.h5")
    assert test.size == 4 and test.observation_mask.all()


def test_two_runs_give_identical_bytes(pdbal_runs: dict[str, Path]) -> None:
    roots = [replicate_root(pdbal_runs[name]) for name in ("a", "b")]
    patterns = [
        "selected_plate",
        "thetas_*.h5",
        "distance_matrix_chunk_*.h5",
        "score_chunk_*.h5",
        "advanced_screen.h5",
    ]
    compared = 0
    for pattern in patterns:
        files = sorted(roots[0].glob(f"iter_*/plate_*/unmasked_screen/{pattern}"))
        assert files, pattern
        for path in files:
            twin = roots[1] / path.relative_to(roots[0])
            assert path.read_bytes() == twin.read_bytes(), path
            compared += 1
    assert compared == 4 + 4 + 4 + 8 + 4


def test_chunking_changes_no_selection_or_score(pdbal_runs: dict[str, Path]) -> None:
    results = []
    for name in ("a", "c1", "c3"):
        root = replicate_root(pdbal_runs[name])
        scores = []
        for step in steps(root):
            holder = ChunkedScoresHolder.concat(
                [ChunkedScoresHolder.load_h5(p) for p in step.glob("score_chunk_*.h5")]
            )
            scores.append(dict(zip(holder.plate_ids.tolist(), holder.scores.tolist(), strict=True)))
        results.append((selections(root), scores))
    base_selection, base_scores = results[0]
    for selection, scores in results[1:]:
        assert selection == base_selection
        for a, b in zip(scores, base_scores, strict=True):
            assert a.keys() == b.keys()
            np.testing.assert_allclose([a[k] for k in a], [b[k] for k in a], rtol=0, atol=1e-12)


def test_iterations_are_recorded_in_the_store(reference: Path) -> None:
    from snakelab.batchie.models.evaluation import ModelEvaluation
    from snakelab.store import open_store
    from snakelab.store.query import lineage, runs_df

    store = open_store(f"sqlite:///{reference}/results/snakelab.sqlite")
    runs = runs_df(store, pipeline="batchie").sort_values("name")
    assert runs["kind"].tolist() == ["iteration", "iteration"]
    assert runs["status"].tolist() == ["succeeded", "succeeded"]
    assert runs["name"].str.endswith(("random/rep_0/iter_0", "random/rep_0/iter_1")).all()
    first, second = (lineage(store, uid) for uid in runs["uid"])
    assert second["parent"] == first["run"]["uid"]
    assert first["children"] == [second["run"]["uid"]]
    root = replicate_root(reference)
    mse = ModelEvaluation.load_h5(root / "iter_1/plate_0/unmasked_screen/model_evaluation.h5").mse()
    metrics = {(m["name"], m["split"]): m["value"] for m in second["metrics"]}
    assert metrics[("mse", "evaluation")] == pytest.approx(mse, rel=1e-12)
    assert metrics[("n_training_plates", "")] == 4
    outputs = {o["role"] for o in second["outputs"]}
    assert {"thetas_0", "thetas_1", "model_evaluation", "selected_plate_0"} <= outputs
    store.dispose()
