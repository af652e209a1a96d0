"""The generic lineage layer (spec §9): store.run, uids, RunExists, takeovers, run.json, rebuild, queries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from snakelab.store.core import open_store
from snakelab.store.errors import RunExists, RunInProgress, StoreError
from snakelab.store.lineage import config_digest, run_uid
from snakelab.store.models import Run
from snakelab.store.query import lineage, metrics_df, metrics_long_df, resolve_run, runs_df
from snakelab.store.rebuild import rebuild
from snakelab.store.record import RunRecordError, read_run_json
from snakelab.store.verify import verify_runs

CONFIG = {"model": "mec", "epochs": 3, "layers": [64, 32]}


def _two_stage_lineage(store, root: Path) -> tuple[str, str]:
    """A ``batchie/prepare`` run writing a screen, then a ``scmedal/train`` run reading it."""
    (root / "raw.csv").write_text("a,b\n1,2\n")
    with store.run(
        pipeline="batchie", kind="prepare", config={"k": 1}, seed=0, inputs={"raw": root / "raw.csv"}
    ) as prep:
        out = root / "results" / "prepare"
        out.mkdir(parents=True)
        (out / "screen.h5").write_bytes(b"screen-bytes")
        prep.log_artifact("screen", out / "screen.h5")
    with store.run(
        pipeline="scmedal",
        kind="train",
        config=CONFIG,
        seed=7,
        params={"fold": 2, "model": "mec"},
        inputs={"screen": out / "screen.h5"},
        parent=prep.uid,
        name="mec-fold2",
    ) as train:
        for epoch in range(3):
            train.log_metric("loss", 1.0 / (epoch + 1), step=epoch, split="train")
        train.log_metric("val_loss", 0.25, split="validation")
        train.log_metrics({"accuracy": 0.9, "auc": float("nan")}, split="test")
        model_dir = root / "results" / "train"
        model_dir.mkdir(parents=True)
        (model_dir / "model.keras").write_bytes(b"weights")
        (model_dir / "history.json").write_text("{}")
        train.log_artifact("model", model_dir / "model.keras")
        train.log_artifact("history", model_dir / "history.json")
    return prep.uid, train.uid


def test_uid_is_a_pure_function_of_what_determines_the_result() -> None:
    h = config_digest({"b": 2, "a": 1})
    assert (
        h
        == config_digest({"a": 1, "b": 2})
        == "43258cff783fe7036d8a43033f830adfc60ec037382473548ac742b888292777"
    )
    uid = run_uid("scmedal", "train", h, ["bb", "aa"], 7, {"fold": 2})
    assert uid == run_uid("scmedal", "train", h, ["aa", "bb"], 7, {"fold": 2}) == "d360ddb1261075cd0ffa"
    variants = {
        run_uid("scmedal", "train", h, ["aa", "bb"], 8, {"fold": 2}),
        run_uid("scmedal", "train", h, ["aa", "bb"], 7, {"fold": 3}),
        run_uid("scmedal", "train", h, ["aa", "cc"], 7, {"fold": 2}),
        run_uid("scmedal", "eval", h, ["aa", "bb"], 7, {"fold": 2}),
        run_uid("imnn", "train", h, ["aa", "bb"], 7, {"fold": 2}),
    }
    assert len(variants | {uid}) == 6 and all(len(u) == 20 for u in variants)


def test_run_records_metrics_artifacts_and_run_json(store, workdir: Path) -> None:
    prep_uid, uid = _two_stage_lineage(store, workdir)
    record = store.find_run(uid)
    assert record is not None
    assert (record.status, record.attempt, record.seed, record.parent_uid) == ("succeeded", 1, 7, prep_uid)
    assert record.config == CONFIG and record.params == {"fold": 2, "model": "mec"}
    assert record.config_hash == config_digest(CONFIG)
    assert record.host == socket.gethostname() and record.pid == os.getpid()
    assert record.env["snakelab"] == "0.1.0" and record.env["python"].startswith("3.11")
    assert record.duration_s is not None and 0 <= record.duration_s < 30
    assert record.started_at <= record.finished_at and record.finished_at.tzinfo == UTC
    assert [(r.role, r.path, r.size_bytes) for r in record.inputs] == [
        ("screen", "results/prepare/screen.h5", 12)
    ]
    assert [(r.role, r.path) for r in record.outputs] == [
        ("history", "results/train/history.json"),
        ("model", "results/train/model.keras"),
    ]
    assert record.last_metrics() == {
        ("accuracy", "test"): 0.9,
        ("auc", "test"): None,
        ("loss", "train"): pytest.approx(1 / 3),
        ("val_loss", "validation"): 0.25,
    }
    assert len(record.metrics) == 6
    on_disk = read_run_json(workdir / "results" / "train" / "run.json")
    assert on_disk.uid == uid and on_disk.status == "succeeded" and on_disk.metrics == record.metrics
    assert on_disk.outputs == record.outputs and on_disk.inputs == record.inputs
    assert json.loads((workdir / "results" / "train" / "run.json").read_text())["format"] == "snakelab-run-v1"


def test_lineage_follows_files_across_pipelines(store, workdir: Path) -> None:
    prep_uid, uid = _two_stage_lineage(store, workdir)
    doc = lineage(store, uid)
    assert doc["parent"] == prep_uid and doc["children"] == []
    assert doc["inputs"][0]["produced_by"] == [prep_uid]
    assert doc["outputs"][0]["consumed_by"] == []
    assert lineage(store, prep_uid)["outputs"][0]["consumed_by"] == [uid]
    assert lineage(store, prep_uid)["children"] == [uid]
    assert resolve_run(store, uid[:6]) == uid
    assert resolve_run(store, str(store.find_run(uid).id)) == uid


def test_a_succeeded_unit_with_intact_outputs_raises_run_exists(store, workdir: Path) -> None:
    _, uid = _two_stage_lineage(store, workdir)
    inputs = {"screen": workdir / "results" / "prepare" / "screen.h5"}
    with pytest.raises(RunExists) as info:
        with store.run(
            pipeline="scmedal",
            kind="train",
            config=CONFIG,
            seed=7,
            params={"fold": 2, "model": "mec"},
            inputs=inputs,
            parent=None,
        ):
            raise AssertionError("the body must not run")
    assert info.value.record.uid == uid and info.value.record.status == "succeeded"
    # a changed output: the unit runs again as attempt 2
    (workdir / "results" / "train" / "model.keras").write_bytes(b"tampered")
    with store.run(
        pipeline="scmedal",
        kind="train",
        config=CONFIG,
        seed=7,
        params={"fold": 2, "model": "mec"},
        inputs=inputs,
    ) as again:
        again.log_metric("loss", 0.1)
    assert (again.uid, again.attempt) == (uid, 2)
    assert [m.name for m in store.find_run(uid).metrics] == ["loss"]  # attempt 1's metrics were dropped


def test_a_failed_run_is_reused_with_attempt_plus_one(store, workdir: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with store.run(pipeline="imnn", kind="fit", config={"n": 1}, seed=3) as run:
            run.log_metric("fisher_det", 1.5, step=0)
            raise RuntimeError("boom\nsecond line")
    failed = store.find_run(run.uid)
    assert (failed.status, failed.attempt, failed.error) == ("failed", 1, "RuntimeError: boom")
    assert failed.finished_at is not None and [m.value for m in failed.metrics] == [1.5]
    with store.run(pipeline="imnn", kind="fit", config={"n": 1}, seed=3, run_dir=workdir / "fit") as retry:
        retry.log_metric("fisher_det", 2.5, step=0)
    done = store.find_run(run.uid)
    assert (done.status, done.attempt, done.error, [m.value for m in done.metrics]) == (
        "succeeded",
        2,
        None,
        [2.5],
    )
    assert read_run_json(workdir / "fit" / "run.json").attempt == 2
    with store.read() as session:
        assert len(session.scalars(select(Run)).all()) == 1


def _set_running(store, uid: str, **values) -> None:
    store.transaction(
        lambda s: s.execute(update(Run).where(Run.uid == uid).values(status="running", **values))
    )


def test_running_units_are_taken_over_only_when_stale(store, workdir: Path) -> None:
    with pytest.raises(RuntimeError):
        with store.run(pipeline="segment", kind="train", seed=1) as run:
            raise RuntimeError("killed")
    uid = run.uid
    now = datetime.now(UTC)
    # alive: this very process, fresh heartbeat
    _set_running(store, uid, host=socket.gethostname(), pid=os.getpid(), heartbeat_at=now)
    with pytest.raises(
        RunInProgress, match=f"run {uid} .* is running on {socket.gethostname()} pid {os.getpid()}"
    ):
        with store.run(pipeline="segment", kind="train", seed=1):
            pass
    # a dead process on this host
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _set_running(store, uid, pid=dead.pid, heartbeat_at=now)
    with store.run(pipeline="segment", kind="train", seed=1) as taken:
        pass
    assert taken.attempt == 2
    # another host whose heartbeat stopped more than stale_after_s ago
    _set_running(store, uid, host="elsewhere", pid=1, heartbeat_at=now - timedelta(hours=2))
    with store.run(pipeline="segment", kind="train", seed=1) as taken:
        pass
    assert taken.attempt == 3
    _set_running(store, uid, host="elsewhere", pid=1, heartbeat_at=now)
    with pytest.raises(RunInProgress):
        with store.run(pipeline="segment", kind="train", seed=1):
            pass


def test_metrics_and_heartbeat_are_flushed_while_running(sqlite_url: str, workdir: Path) -> None:
    store = open_store(sqlite_url, create=True, config={"flush_seconds": 0.05})
    reader = open_store(sqlite_url)
    with store.run(pipeline="segment", kind="train", seed=0) as run:
        started = reader.find_run(run.uid).heartbeat_at
        run.log_metric("loss", 0.5, step=1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not reader.find_run(run.uid).metrics:
            time.sleep(0.02)
        seen = reader.find_run(run.uid)
        assert seen.status == "running" and [m.value for m in seen.metrics] == [0.5]
        assert seen.heartbeat_at > started
        run.log_metric("loss", 0.25, step=2)
    assert [m.value for m in reader.find_run(run.uid).metrics] == [0.5, 0.25]


def test_a_logged_output_that_was_never_written_fails_the_run(store, workdir: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"output 'model' of run .* was logged but not written"):
        with store.run(pipeline="imnn", kind="fit", seed=0) as run:
            run.log_artifact("model", workdir / "never.npz")
    record = store.find_run(run.uid)
    assert record.status == "failed" and "output 'model'" in record.error and record.outputs == []


def test_bad_arguments_are_named(store, workdir: Path) -> None:
    with pytest.raises(StoreError, match=r"params\.shape: expected a flat mapping"):
        with store.run(pipeline="p", kind="k", params={"shape": [1, 2]}):
            pass
    with pytest.raises(FileNotFoundError, match="input 'data': expected an existing regular file"):
        with store.run(pipeline="p", kind="k", inputs={"data": workdir / "missing.h5"}):
            pass
    with pytest.raises(StoreError, match="parent run 0123456789abcdef0123: not found"):
        with store.run(pipeline="p", kind="k", parent="0123456789abcdef0123"):
            pass
    with pytest.raises(StoreError, match="metric 'loss': expected a number, got 'low'"):
        with store.run(pipeline="p", kind="k", seed=5) as run:
            run.log_metric("loss", "low")


def test_rebuild_into_an_empty_store_gives_the_same_runs(store, workdir: Path) -> None:
    _two_stage_lineage(store, workdir)
    empty = open_store(f"sqlite:///{workdir / 'rebuilt.sqlite'}", create=True)
    report = rebuild(empty, workdir / "results")
    assert (report.files, report.added, report.present, report.missing_parents) == (2, 2, 0, [])
    columns = [
        "uid",
        "pipeline",
        "kind",
        "name",
        "status",
        "attempt",
        "seed",
        "started_at",
        "finished_at",
        "duration_s",
        "host",
        "pid",
        "parent_uid",
        "config_hash",
        "error",
    ]
    original, rebuilt = runs_df(store)[columns], runs_df(empty)[columns]
    assert original.equals(rebuilt)
    assert (
        metrics_long_df(store)
        .drop(columns="prediction_id")
        .equals(metrics_long_df(empty).drop(columns="prediction_id"))
    )
    uid = original["uid"].iloc[1]
    assert lineage(store, uid) == lineage(empty, uid)
    again = rebuild(empty, workdir / "results")
    assert (again.added, again.present) == (0, 2)


def test_rebuild_names_a_bad_run_json(store, workdir: Path) -> None:
    bad = workdir / "results" / "x" / "run.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        json.dumps(
            {
                "format": "snakelab-run-v1",
                "uid": "xyz",
                "pipeline": "p",
                "kind": "k",
                "status": "succeeded",
                "config_hash": "c",
            }
        )
    )
    with pytest.raises(RunRecordError, match=f"{bad}: uid: expected 20 lowercase hex digits, got 'xyz'"):
        rebuild(store, workdir / "results")
    bad.write_text("{")
    with pytest.raises(RunRecordError, match=f"{bad}: line 1: expected JSON"):
        rebuild(store, workdir / "results")


def test_queries(store, workdir: Path) -> None:
    prep_uid, uid = _two_stage_lineage(store, workdir)
    runs = runs_df(store)
    assert list(runs["uid"]) == [prep_uid, uid]
    assert list(runs_df(store, pipeline="scmedal")["uid"]) == [uid]
    assert runs_df(store, status="failed").empty
    assert (
        len(runs_df(store, since="2000-01-01")) == 2
        and runs_df(store, since=datetime.now(UTC) + timedelta(1)).empty
    )
    assert str(runs["started_at"].dtype) == "datetime64[ns, UTC]"
    wide = metrics_df(store, pipeline="scmedal")
    assert list(wide.columns) == [
        "run_uid",
        "pipeline",
        "kind",
        "run_name",
        "split",
        "accuracy",
        "auc",
        "loss",
        "val_loss",
    ]
    assert list(wide["split"]) == ["test", "train", "validation"]
    assert wide.set_index("split").loc["train", "loss"] == pytest.approx(1 / 3)  # the highest step
    rounded = metrics_df(store, splits="train", round=3)
    assert rounded["loss"].tolist() == [0.333]
    ranked = metrics_df(store, selected_metrics=["loss", "val_loss"], sort_by="loss")
    assert ranked["split"].tolist()[0] == "train"
    long = metrics_long_df(store, uid, names="loss")
    assert long["step"].tolist() == [0, 1, 2] and long["value"].tolist() == pytest.approx([1, 1 / 2, 1 / 3])
    with pytest.raises(StoreError, match="sort_by: no metric 'f1'"):
        metrics_df(store, sort_by="f1")


def test_verify_finds_missing_and_changed_files(store, workdir: Path) -> None:
    _, uid = _two_stage_lineage(store, workdir)
    assert {c.status for c in verify_runs(store)} == {"ok"}
    (workdir / "results" / "train" / "model.keras").write_bytes(b"wEights")  # same size, other bytes
    (workdir / "results" / "train" / "history.json").unlink()
    checks = {(c.role, c.status) for c in verify_runs(store, [uid])}
    assert checks == {("screen", "ok"), ("model", "changed"), ("history", "missing")}
