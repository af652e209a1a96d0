"""A trained run is recorded in the metastore once (loss and validation metrics, checkpoints)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from snakelab.segment.lineage import record_run
from snakelab.segment.training import train_run


def test_trained_run_is_recorded_once(make_run: Callable[..., Path], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SNAKELAB_STORE_URL", raising=False)
    run_dir = make_run("a__0")
    train_run(run_dir, threads=1)
    assert record_run(None, run_dir) is None
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    uid = record_run(url, run_dir)
    assert uid is not None and len(uid) == 20
    assert record_run(url, run_dir) == uid
    assert (run_dir / "lineage" / "run.json").exists()
    from snakelab.store import open_store

    store = open_store(url)
    try:
        record = store.find_run(uid)
        assert (record.pipeline, record.kind, record.status, record.name) == (
            "segment",
            "train",
            "succeeded",
            "a__0",
        )
        losses = [m for m in record.metrics if m.name == "loss"]
        assert [m.step for m in losses] == list(range(6))
        assert {a.role for a in record.outputs} >= {"training_stats", "checkpoint_3", "checkpoint_6"}
    finally:
        store.dispose()
