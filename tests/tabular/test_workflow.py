"""The tabular pipeline through Snakemake (spec §11, §13 A4–A6) and its one-line stage errors."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.harness import BIN, REPO, tool_env
from tests.store.test_postgres import pg_server, pg_url  # noqa: F401  (PostgreSQL fixtures, A6)

pytestmark = pytest.mark.workflow

R = "results/tabular"
SKLEARN_BUILD = "snakelab.tabular.demo.iris:build_sklearn"


def sklearn_config(
    combos: dict[str, list[Any]] | None = None, folds: int = 2, runs_per_task: int = 2, permute_count: int = 2
) -> dict[str, Any]:
    """A demo-shaped tabular-only config with the fast MLPClassifier builder."""
    return {
        "pipelines": ["tabular"],
        "tabular": {
            "seed": 0,
            "datasets": {"iris": {"source": "sklearn:iris", "name": "iris"}},
            "pipelines": {
                "iris_ordinal": {
                    "dataset": "iris",
                    "input": {
                        "encoders": [{"class": "sklearn.preprocessing.StandardScaler", "dtypes": ["float64"]}]
                    },
                    "target": {
                        "column": "species",
                        "encoder": {"class": "sklearn.preprocessing.OrdinalEncoder"},
                    },
                    "stratifier": {"size_test": 0.22, "fold_count": folds},
                }
            },
            "experiments": {
                "iris_sklearn": {
                    "pipeline": "iris_ordinal",
                    "architecture": {
                        "library": "sklearn",
                        "analysis_type": "classification_multi",
                        "fn_build": SKLEARN_BUILD,
                        "hyperparameters": combos or {"neuron_count": [9, 12], "epoch_count": [30]},
                    },
                    "trainer": {"runs_per_task": runs_per_task, "permute_count": permute_count},
                }
            },
        },
    }


def write_config(workflow, config: dict[str, Any], name: str = "run"):
    wf = workflow(name=name)
    (wf.workdir / "config" / "config.yaml").write_text(json.dumps(config))
    return wf


def sql(workdir: Path, query: str) -> list[tuple]:
    with sqlite3.connect(workdir / "results" / "snakelab.sqlite") as db:
        return db.execute(query).fetchall()


def test_sklearn_experiment_end_to_end(workflow) -> None:
    wf = write_config(workflow, sklearn_config())
    wf.run()
    exp = wf.workdir / R / "experiments" / "iris_sklearn"
    plan = json.loads((exp / "plan.json").read_text())
    assert [r["key"] for r in plan["runs"]] == ["c000-f0-r00", "c001-f0-r00", "c000-f1-r00", "c001-f1-r00"]
    assert [r["task"] for r in plan["runs"]] == [0, 1, 0, 1]
    assert sorted(p.name for p in (exp / "tasks").iterdir()) == ["task_000.json", "task_001.json"]
    for run in plan["runs"]:
        files = {p.name for p in (exp / "runs" / run["key"]).iterdir()}
        assert files == {
            "model.joblib",
            "history.json",
            "predictions.parquet",
            "plot_data.npz",
            "importance.json",
            "metrics.json",
            "run.json",
        }
        record = json.loads((exp / "runs" / run["key"] / "run.json").read_text())
        assert record["uid"] == run["uid"] and record["status"] == "succeeded"
    assert not list((exp / "runs").glob(".*tmp*"))

    # store rows: 1 queue, 2 combos × 2 folds jobs, 4 predictors with a training prediction each
    assert sql(wf.workdir, "SELECT experiment, total_runs FROM queue") == [("iris_sklearn", 4)]
    assert sql(wf.workdir, "SELECT count(*) FROM job") == [(4,)]
    predictors = sql(wf.workdir, "SELECT status, seed, fit_s, overhead_s FROM predictor")
    assert len(predictors) == 4 and {p[0] for p in predictors} == {"succeeded"}
    assert sorted(p[1] for p in predictors) == sorted(r["seed"] for r in plan["runs"])
    assert all(p[2] > 0 and p[3] is not None for p in predictors)
    assert sql(wf.workdir, "SELECT count(*), count(fi_seed) FROM prediction WHERE infer_idx = -1") == [(4, 4)]
    assert sql(wf.workdir, "SELECT status, count(*) FROM run WHERE pipeline='tabular' GROUP BY status") == [
        ("succeeded", 4)
    ]
    linked = sql(
        wf.workdir,
        "SELECT count(*) FROM metric WHERE split='fold_validation' AND name='accuracy' "
        "AND prediction_id IS NOT NULL",
    )
    assert linked == [(4,)]

    # D4 on the workflow: aggregate == pandas groupby of metrics_df on fold_validation
    metrics = pd.read_parquet(exp / "metrics.parquet")
    assert len(metrics) == 4 * 3 and set(metrics["split"]) == {
        "folds_train_combined",
        "fold_validation",
        "test",
    }
    aggregate = pd.read_csv(exp / "aggregate.csv")
    acc = aggregate[aggregate["metric"] == "accuracy"].set_index("combo_idx")
    expected = metrics[metrics["split"] == "fold_validation"].groupby("combo_idx")["accuracy"]
    pd.testing.assert_series_equal(acc["mean"], expected.mean(), check_names=False)
    pd.testing.assert_series_equal(acc["sd"], expected.std(ddof=1), check_names=False)
    assert (acc["n"] == 2).all()
    best = json.loads((exp / "best.json").read_text())
    assert best["best_combo"] == int(acc["mean"].idxmax())
    assert best["evaluation_split"] == "fold_validation" and best["succeeded_runs"] == 4
    assert 0.8 <= best["evaluation_mean"] <= 1.0
    importance = pd.read_csv(exp / "importance.csv")
    assert len(importance) == 4 and (importance["n_runs"] == 2).all()
    assert {p.name for p in (exp / "plots").iterdir()} >= {
        "performance.png",
        "learning_curves.png",
        "roc.png",
        "pr.png",
        "confusion_evaluation.png",
        "confusion_test.png",
        "importance.png",
    }

    # a rerun trains nothing; a task rerun by hand skips every run
    assert "Nothing to be done" in wf.run().output
    # snakemake --report embeds the aggregate table and every plot of the experiment
    wf.run("--report", "report.html")
    html = (wf.workdir / "report.html").read_text()
    assert "aggregate.csv" in html
    assert all(name in html for name in ("roc.png", "confusion_test.png", "importance.png"))
    env = tool_env()
    proc = subprocess.run(
        [
            str(BIN / "snakelab"),
            "tabular",
            "train",
            "--plan",
            str(exp / "plan.json"),
            "--task",
            "0",
            "--output",
            str(wf.workdir / "again.json"),
        ],
        cwd=wf.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((wf.workdir / "again.json").read_text())["counts"] == {
        "trained": 0,
        "skipped": 2,
        "registered": 0,
        "failed": 0,
    }

    # infer: new rows through the best run's fold preprocessing and model
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.frame.drop(columns="target")
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["species"] = iris.target_names[iris.target]
    frame.to_csv(wf.workdir / "new.csv", index=False)
    proc = snakelab(
        wf.workdir,
        "infer",
        "--plan",
        str(exp / "plan.json"),
        "--input",
        "new.csv",
        "--output",
        "pred.parquet",
        "--target-column",
        "species",
    )
    assert proc.returncode == 0, proc.stderr
    pred = pd.read_parquet(wf.workdir / "pred.parquet")
    assert len(pred) == 150 and (pred["y_pred"] == pred["y_true"]).mean() >= 0.9
    assert sql(wf.workdir, "SELECT count(*) FROM prediction WHERE infer_idx = 0") == [(1,)]
    # the inference splitset names the predictor and holds all 150 rows in split infer_0
    ((samples, predictor_ok, metric_count),) = sql(
        wf.workdir,
        "SELECT s.samples, s.predictor_id = p.predictor_id, "
        "(SELECT count(*) FROM metric m WHERE m.prediction_id = p.id AND m.split = 'infer_0') "
        "FROM prediction p JOIN splitset s ON s.id = p.splitset_id WHERE p.infer_idx = 0",
    )
    assert json.loads(samples) == {"infer_0": list(range(150))} and predictor_ok == 1 and metric_count > 0
    ((accuracy,),) = sql(wf.workdir, "SELECT value FROM metric WHERE split = 'infer_0' AND name = 'accuracy'")
    assert accuracy == pytest.approx((pred["y_pred"] == pred["y_true"]).mean())
    # the same table through the same run again: recognised, not recorded twice
    proc = snakelab(
        wf.workdir,
        "infer",
        "--plan",
        str(exp / "plan.json"),
        "--input",
        "new.csv",
        "--output",
        "pred2.parquet",
        "--target-column",
        "species",
    )
    assert proc.returncode == 0, proc.stderr
    assert sql(wf.workdir, "SELECT count(*) FROM prediction WHERE infer_idx >= 0") == [(1,)]
    # a feature column of another kind than in the training dataset: one line, exit 2, no row
    frame["sepal_width"] = "wide"
    frame.to_csv(wf.workdir / "bad.csv", index=False)
    proc = snakelab(
        wf.workdir, "infer", "--plan", str(exp / "plan.json"), "--input", "bad.csv", "--output", "bad.parquet"
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: bad.csv: sepal_width: a float column")
    assert not (wf.workdir / "bad.parquet").exists()
    assert sql(wf.workdir, "SELECT count(*) FROM splitset WHERE predictor_id IS NOT NULL") == [(1,)]


@pytest.mark.slow
def test_a4_demo_accuracy(workflow) -> None:
    """A4: the iris demo (40 runs per experiment) at tabular.seed 0 (fixed before any result)."""
    wf = workflow({"pipelines": ["tabular"]})
    config = json.loads(
        json.dumps(__import__("yaml").safe_load((wf.workdir / "config/config.yaml").read_text()))
    )
    assert config["tabular"]["seed"] == 0
    wf.run(timeout=1500)
    for experiment in ("iris_keras", "iris_torch"):
        metrics = pd.read_parquet(wf.workdir / R / "experiments" / experiment / "metrics.parquet")
        assert metrics["run_uid"].nunique() == 40
        test = metrics.loc[metrics["split"] == "test", "accuracy"].mean()
        fold_validation = metrics.loc[metrics["split"] == "fold_validation", "accuracy"].mean()
        assert test >= 0.93, (experiment, test)
        assert fold_validation >= 0.90, (experiment, fold_validation)


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.mark.slow
@pytest.mark.parametrize("runs_per_task", [1, 4])
def test_a5_resume_after_sigkill(workflow, runs_per_task: int) -> None:
    """A5: SIGKILL the whole Snakemake process group once ≥ 6 runs are written, then resume."""
    combos = {"neuron_count": [9, 12], "learning_rate": [0.03, 0.05], "epoch_count": [30, 60]}
    wf = write_config(workflow, sklearn_config(combos, folds=2, runs_per_task=runs_per_task, permute_count=1))
    runs = wf.workdir / R / "experiments" / "iris_sklearn" / "runs"
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        "--profile",
        str(REPO / "workflow/profiles/default"),
    ]
    log = (wf.workdir / "first.log").open("w")
    proc = subprocess.Popen(
        cmd, cwd=wf.workdir, env=tool_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while len(list(runs.glob("*/run.json"))) < 6:
        assert proc.poll() is None, (wf.workdir / "first.log").read_text()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    time.sleep(0.5)
    killed_at = time.time()
    done = {p.parent.name: _digest(p) for p in runs.glob("*/run.json")}
    assert 6 <= len(done) < 16

    wf.run("--unlock")  # the killed Snakemake left its lock behind
    second = wf.run("--rerun-incomplete", timeout=600)
    assert "Finished" in second.output or "steps (100%) done" in second.output
    assert sql(
        wf.workdir, "SELECT count(*), count(DISTINCT job_id || '-' || repeat_index) FROM predictor"
    ) == [(16, 16)]
    assert sql(wf.workdir, "SELECT count(*) FROM predictor WHERE status = 'succeeded'") == [(16,)]
    for key, digest in done.items():
        assert _digest(runs / key / "run.json") == digest, key
    tasks = wf.workdir / R / "experiments" / "iris_sklearn" / "tasks"
    trained = sum(
        json.loads(p.read_text())["counts"]["trained"]
        for p in tasks.glob("task_*.json")
        if p.stat().st_mtime > killed_at
    )
    assert trained == 16 - len(done)
    assert sql(wf.workdir, "SELECT count(*) FROM run WHERE status = 'running'") == [(0,)]
    assert sql(
        wf.workdir, "SELECT count(*) FROM run WHERE pipeline = 'tabular' AND status = 'succeeded'"
    ) == [(16,)]


def _metric_values(frame: pd.DataFrame) -> pd.DataFrame:
    keep = ["run_key", "split", "accuracy", "f1", "loss", "precision", "recall", "roc_auc"]
    return frame[keep].sort_values(["run_key", "split"]).reset_index(drop=True)


@pytest.mark.postgres
def test_a6_postgres_gives_the_same_metrics_as_sqlite(workflow, pg_url: str) -> None:  # noqa: F811
    config = sklearn_config(runs_per_task=4, permute_count=0)
    lite = write_config(workflow, config, name="sqlite")
    lite.run()
    pg = write_config(workflow, {**config, "store": {"url": pg_url}}, name="postgres")
    pg.run()
    assert not (pg.workdir / "results" / "snakelab.sqlite").exists()
    a = pd.read_parquet(lite.workdir / R / "experiments/iris_sklearn/metrics.parquet")
    b = pd.read_parquet(pg.workdir / R / "experiments/iris_sklearn/metrics.parquet")
    pd.testing.assert_frame_equal(_metric_values(a), _metric_values(b))
    from snakelab.store.core import open_store
    from snakelab.store.query import metrics_df

    stores = {"sqlite": f"sqlite:///{lite.workdir}/results/snakelab.sqlite", "pg": pg_url}
    frames = {}
    for name, url in stores.items():
        frame = metrics_df(open_store(url), pipeline="tabular")
        frames[name] = (
            frame.drop(columns=["run_uid", "fit_s"]).sort_values(["run_name", "split"]).reset_index(drop=True)
        )
    pd.testing.assert_frame_equal(frames["sqlite"], frames["pg"])


# -- bad inputs: one line, exit ≠ 0, nothing half-written ------------------------------------------


def snakelab(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "snakelab"), "tabular", *args],
        cwd=workdir,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def registered(tmp_path: Path) -> Path:
    """A working directory with a config, the iris dataset registered and the pipeline split."""
    config = sklearn_config()
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    (tmp_path / "cfg.yaml").write_text(json.dumps(config))
    for args in (
        ("register", "--config", "cfg.yaml", "--dataset", "iris", "--output", f"{R}/datasets/iris.json"),
        (
            "split",
            "--config",
            "cfg.yaml",
            "--pipeline",
            "iris_ordinal",
            "--dataset-json",
            f"{R}/datasets/iris.json",
            "--output",
            f"{R}/pipelines/iris_ordinal/splits.json",
        ),
    ):
        proc = snakelab(tmp_path, *args)
        assert proc.returncode == 0, proc.stderr
    return tmp_path


def _plan(workdir: Path, spec: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    pipeline = sklearn_config()["tabular"]["pipelines"]["iris_ordinal"]
    return snakelab(
        workdir,
        "plan",
        "--experiment",
        "bad",
        "--spec",
        json.dumps(spec),
        "--pipeline-spec",
        json.dumps(pipeline),
        "--dataset-json",
        f"{R}/datasets/iris.json",
        "--splits",
        f"{R}/pipelines/iris_ordinal/splits.json",
        "--output",
        "plan.json",
        *extra,
    )


def test_non_importable_algorithm_reference(registered: Path) -> None:
    spec = sklearn_config()["tabular"]["experiments"]["iris_sklearn"]
    spec["architecture"]["fn_build"] = "snakelab.tabular.demo.nonexistent:build"
    line = _one_line_error(_plan(registered, spec))
    assert "fn_build" in line and "snakelab.tabular.demo.nonexistent" in line
    assert not (registered / "plan.json").exists()
    assert sql(registered, "SELECT count(*) FROM queue") == [(0,)]


def test_unreachable_database(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text(json.dumps(sklearn_config()))
    proc = snakelab(
        tmp_path,
        "register",
        "--config",
        "cfg.yaml",
        "--dataset",
        "iris",
        "--output",
        "iris.json",
        "--store",
        "postgresql+psycopg://nobody:secret@127.0.0.1:9/none",
    )
    line = _one_line_error(proc)
    assert "secret" not in line
    assert not (tmp_path / "iris.json").exists()
    assert not (tmp_path / "results").exists()


def test_store_schema_newer_than_the_code(registered: Path) -> None:
    with sqlite3.connect(registered / "results" / "snakelab.sqlite") as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    spec = sklearn_config()["tabular"]["experiments"]["iris_sklearn"]
    line = _one_line_error(_plan(registered, spec))
    assert "newer than this snakelab" in line
    assert not (registered / "plan.json").exists()


def test_library_label_rule_checked_at_plan_time(registered: Path) -> None:
    spec = sklearn_config()["tabular"]["experiments"]["iris_sklearn"]
    spec["architecture"]["analysis_type"] = "regression"
    pipeline = sklearn_config()["tabular"]["pipelines"]["iris_ordinal"]
    pipeline["target"]["encoder"] = {"class": "sklearn.preprocessing.OneHotEncoder"}
    spec["architecture"].update(
        library="pytorch",
        analysis_type="classification_multi",
        fn_build="snakelab.tabular.demo.iris:build_torch",
    )
    proc = snakelab(
        registered,
        "plan",
        "--experiment",
        "bad",
        "--spec",
        json.dumps(spec),
        "--pipeline-spec",
        json.dumps(pipeline),
        "--dataset-json",
        f"{R}/datasets/iris.json",
        "--splits",
        f"{R}/pipelines/iris_ordinal/splits.json",
        "--output",
        "plan.json",
    )
    assert "ordinal label coder" in _one_line_error(proc)
    assert not (registered / "plan.json").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"experiments": {"iris_sklearn": {"pipeline": "nope"}}},
            "tabular.experiments.iris_sklearn.pipeline",
        ),
        (
            {"pipelines": {"iris_ordinal": {"stratifier": {"size_test": 0.6, "size_validation": 0.5}}}},
            "size_test + size_validation < 1",
        ),
        (
            {"experiments": {"iris_sklearn": {"trainer": {"search_count": 1, "search_percent": 0.5}}}},
            "should not be valid",
        ),
        (
            {"experiments": {"iris_sklearn": {"trainer": {"runs_per_tsk": 1}}}},
            "'runs_per_tsk' was unexpected",
        ),
    ],
)
def test_config_errors_fail_at_parse_time(workflow, change, expected) -> None:
    from tests.harness import deep_merge

    config = sklearn_config()
    config["tabular"] = deep_merge(config["tabular"], change)
    wf = write_config(workflow, config)
    run = wf.run("--dry-run", check=False)
    assert run.returncode != 0
    assert expected in run.output
    assert not (wf.workdir / "results").exists()
