"""``snakelab store …``: output formats, filters and exit statuses (0 ok, 1 verification, 2 store errors)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from snakelab.cli import main
from snakelab.store.core import open_store
from snakelab.store.versioning import register_dataset
from tests.store.datasets import dataset_values


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """``main`` points the snakelab logger at the captured stderr of its test; detach it afterwards."""
    yield
    logger = logging.getLogger("snakelab")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``snakelab <args>`` in this process; (exit status, stdout, stderr)."""
    try:
        status = main(list(args))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def filled(workdir: Path) -> tuple[str, list[str]]:
    """A store with two runs (one with metrics and a model file) and a dataset; (URL, run uids)."""
    url = f"sqlite:///{workdir / 'cli.sqlite'}"
    store = open_store(url, create=True)
    with store.run(pipeline="imnn", kind="fit", config={"a": 1}, seed=1, name="fit-a") as first:
        first.log_metric("loss", 2.0, step=0, split="train")
        first.log_metric("loss", 1.0, step=1, split="train")
        first.log_metric("fisher_det", 12.5)
        (workdir / "out").mkdir()
        (workdir / "out" / "model.npz").write_bytes(b"np")
        first.log_artifact("model", workdir / "out" / "model.npz")
    with store.run(pipeline="segment", kind="train", seed=2) as second:
        second.log_metric("iou", 0.5, split="validation")
    register_dataset(store, dataset_values("iris-content"))
    store.dispose()
    return url, [first.uid, second.uid]


def test_init_current_url(capsys, workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'new' / 'store.sqlite'}"
    status, out, _ = cli(capsys, "store", "init", "--store", url)
    assert status == 0 and (workdir / "new" / "store.sqlite").is_file()
    assert out.split() == ["url", url, "revision", "0002", "head", "0002"]
    assert cli(capsys, "store", "init", "--store", url)[0] == 0
    status, out, _ = cli(capsys, "store", "current", "--store", url, "--format", "json")
    assert json.loads(out) == {"url": url, "revision": "0002", "head": "0002"}
    status, out, _ = cli(capsys, "store", "url", "--store", "postgresql://me:pw@db/store")
    assert out.strip() == "postgresql+psycopg://me:***@db/store"
    status, out, _ = cli(capsys, "store", "url", "--format", "json")
    assert json.loads(out) == {"url": "sqlite:///results/snakelab.sqlite", "source": "default"}


def test_config_file_supplies_the_url(capsys, workdir: Path, filled) -> None:
    url, _ = filled
    (workdir / "config.yaml").write_text(f"store:\n  url: {url}\n  busy_timeout_ms: 100\n")
    status, out, _ = cli(capsys, "store", "url", "--config", "config.yaml", "--format", "csv")
    assert status == 0 and "store.url" in out
    status, out, _ = cli(capsys, "store", "runs", "--config", "config.yaml", "--format", "json")
    assert status == 0 and len(json.loads(out)) == 2
    (workdir / "bad.yaml").write_text("store:\n  busy_timeout: 1\n")
    status, _, err = cli(capsys, "store", "runs", "--config", "bad.yaml")
    assert status == 2 and err.strip().startswith("error: store.busy_timeout: unknown setting")


@pytest.mark.parametrize(
    "args",
    [("runs",), ("show", "abcd"), ("metrics",), ("datasets",), ("verify",), ("current",), ("upgrade",)],
)
def test_read_only_commands_on_a_missing_store(capsys, workdir: Path, args: tuple[str, ...]) -> None:
    status, out, err = cli(capsys, "store", *args)
    assert status == 2 and out == ""
    assert err.splitlines() == [
        "error: store not initialised at sqlite:///results/snakelab.sqlite; run 'snakelab store init'"
    ]
    assert list(workdir.iterdir()) == []


def test_runs_formats_and_filters(capsys, filled) -> None:
    url, (first, second) = filled
    status, out, _ = cli(capsys, "store", "runs", "--store", url)
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == [
        "uid",
        "pipeline",
        "kind",
        "name",
        "status",
        "started",
        "duration_s",
        "metrics",
    ]
    assert lines[1].split()[:5] == [first, "imnn", "fit", "fit-a", "succeeded"]
    assert lines[1].endswith("  fisher_det=12.5 loss[train]=1")
    status, out, _ = cli(capsys, "store", "runs", "--store", url, "--format", "csv", "--pipeline", "segment")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["uid"] for r in rows] == [second] and rows[0]["status"] == "succeeded"
    status, out, _ = cli(capsys, "store", "runs", "--store", url, "--format", "json", "--status", "failed")
    assert json.loads(out) == []
    status, out, _ = cli(capsys, "store", "runs", "--store", url, "--since", "2999-01-01")
    assert out.strip() == f"no runs in {url}"
    status, _, err = cli(capsys, "store", "runs", "--store", url, "--since", "yesterday")
    assert (
        status == 2
        and err.strip() == "error: --since: expected an ISO 8601 time like 2026-01-31T12:00, got 'yesterday'"
    )


def test_show(capsys, filled) -> None:
    url, (first, _) = filled
    status, out, _ = cli(capsys, "store", "show", first[:8], "--store", url, "--format", "json")
    doc = json.loads(out)
    assert status == 0 and doc["run"]["uid"] == first and doc["run"]["seed"] == 1
    assert doc["outputs"][0]["path"] == "out/model.npz" and len(doc["outputs"][0]["sha256"]) == 64
    assert {(m["name"], m["step"]) for m in doc["metrics"]} == {("loss", 0), ("loss", 1), ("fisher_det", -1)}
    status, out, _ = cli(capsys, "store", "show", first, "--store", url)
    table = dict(line.split(None, 1) for line in out.splitlines())
    assert table["run.config.a"] == "1" and table["metrics.loss[train]"] == "1"
    assert table["outputs[0].role"] == "model" and table["run.env.snakelab"] == "0.1.0"
    status, _, err = cli(capsys, "store", "show", "ffffffff", "--store", url)
    assert (
        status == 2 and err.strip() == f"error: run ffffffff: no run with this uid, uid prefix or id in {url}"
    )


def test_metrics(capsys, filled) -> None:
    url, (first, second) = filled
    status, out, _ = cli(capsys, "store", "metrics", "--store", url, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and list(rows[0]) == [
        "run_uid",
        "pipeline",
        "kind",
        "run_name",
        "split",
        "fisher_det",
        "iou",
        "loss",
    ]
    assert [(r["run_uid"], r["split"], r["loss"]) for r in rows] == [
        (first, "", ""),
        (first, "train", "1.0"),
        (second, "validation", ""),
    ]
    status, out, _ = cli(
        capsys, "store", "metrics", "--store", url, "--metric", "loss", "--steps", "--format", "json"
    )
    assert [(r["step"], r["value"]) for r in json.loads(out)] == [(0, 2.0), (1, 1.0)]
    status, out, _ = cli(
        capsys, "store", "metrics", "--store", url, "--split", "validation", "--pipeline", "segment"
    )
    assert out.splitlines()[1].split() == [second, "segment", "train", "-", "validation", "0.5"]


def test_datasets(capsys, filled) -> None:
    url, _ = filled
    status, out, _ = cli(capsys, "store", "datasets", "--store", url)
    header, row = out.splitlines()
    digest = dataset_values("iris-content")["content_hash"]
    assert header.split() == ["id", "name", "version", "typ", "shape", "content_hash", "ingested", "path"]
    assert row.split() == [
        "1",
        "iris",
        "1",
        "tabular",
        '{"columns":5,"samples":150}',
        digest[:12],
        "True",
        "-",
    ]
    assert status == 0
    _, out, _ = cli(capsys, "store", "datasets", "--store", url, "--format", "json")
    assert json.loads(out)[0]["content_hash"] == digest


def test_verify_exit_statuses(capsys, workdir: Path, filled) -> None:
    url, (first, _) = filled
    status, out, err = cli(capsys, "store", "verify", "--store", url)
    assert (
        status == 0
        and "ok" in out
        and err.strip().endswith("verified 1 files of 1 runs: 0 missing or changed")
    )
    (workdir / "out" / "model.npz").write_bytes(b"NP")
    status, out, err = cli(capsys, "store", "verify", "--store", url, "--run", first, "--format", "json")
    assert status == 1 and json.loads(out)[0]["status"] == "changed"
    summary = "error: verified 1 files of 1 runs: 1 missing or changed"
    assert err.strip() == f"{summary} (first: out/model.npz changed of run {first})"
    status, _, err = cli(capsys, "store", "verify", "--store", url, "--root", str(workdir / "elsewhere"))
    assert status == 1 and "missing" in err


def test_rebuild(capsys, workdir: Path, filled) -> None:
    target = f"sqlite:///{workdir / 'rebuilt.sqlite'}"
    status, out, _ = cli(capsys, "store", "rebuild", "--from", "out", "--store", target, "--format", "json")
    assert status == 0 and json.loads(out)["added"] == 1
    status, _, err = cli(capsys, "store", "rebuild", "--from", "nowhere", "--store", target)
    assert (
        status == 2
        and err.strip() == "error: nowhere: --from: expected a directory of results holding run.json files"
    )


def test_missing_values_print_as_dash_and_null() -> None:
    import pandas as pd

    from snakelab.store.output import emit_frame

    frame = pd.DataFrame(
        {
            "finished_at": [pd.NaT, pd.Timestamp("2026-01-02 03:04:05", tz="UTC")],
            "value": [float("nan"), 0.25],
        }
    )
    table, records = io.StringIO(), io.StringIO()
    emit_frame(frame, "table", stream=table)
    emit_frame(frame, "json", stream=records)
    assert table.getvalue().splitlines()[1:] == ["-                    -", "2026-01-02 03:04:05  0.25"]
    assert json.loads(records.getvalue()) == [
        {"finished_at": None, "value": None},
        {"finished_at": "2026-01-02T03:04:05+00:00", "value": 0.25},
    ]
