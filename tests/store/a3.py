"""A3 / D11: many processes recording lineage into one store at once (run as a script by the tests).

``python -m tests.store.a3 --url URL --procs 8 --units 200 [--busy-timeout-ms 50] --out DIR``
spawns ``procs`` processes that wait at a barrier, then each records ``units`` runs through
``store.run`` (3 metrics + 1 artifact each). ``--same-uid`` instead has every process record the same
unit. Prints one JSON line: exit codes, outcomes, retries, wall times (s), and the row counts found.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path
from typing import Any


def _settings(busy_timeout_ms: int | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"flush_seconds": 30}
    if busy_timeout_ms is not None:
        settings["busy_timeout_ms"] = busy_timeout_ms
    return settings


def units_worker(
    url: str, proc: int, units: int, busy_timeout_ms: int | None, out: str, barrier: Any, queue: Any
) -> None:
    """Record ``units`` runs, each with 3 metrics and 1 artifact, in ``out/p<proc>/u<j>/``."""
    from snakelab.store import open_store

    store = open_store(url, create=True, config=_settings(busy_timeout_ms))
    store.ensure_schema()
    barrier.wait()
    start = time.time()
    for j in range(units):
        directory = Path(out) / f"p{proc}" / f"u{j:04d}"
        with store.run(pipeline="a3", kind="unit", config={"proc": proc}, seed=j, params={"unit": j}) as run:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "artifact.txt").write_text(f"{proc}-{j}\n")
            run.log_metric("loss", 1.0 / (j + 1), split="train")
            run.log_metric("accuracy", j / units, split="validation")
            run.log_metric("step_time_s", 0.001 * proc, step=j)
            run.log_artifact("artifact", directory / "artifact.txt")
    queue.put({"proc": proc, "retries": store.retries, "start": start, "end": time.time(), "outcome": "ran"})


def same_uid_worker(
    url: str, proc: int, units: int, busy_timeout_ms: int | None, out: str, barrier: Any, queue: Any
) -> None:
    """Record the same unit as every other process; report whether this one ran it."""
    from snakelab.store import RunExists, RunInProgress, open_store

    store = open_store(url, create=True, config=_settings(busy_timeout_ms))
    store.ensure_schema()
    barrier.wait()
    start = time.time()
    outcome = "ran"
    try:
        with store.run(pipeline="a3", kind="same", config={"shared": True}, seed=0) as run:
            time.sleep(0.3)
            target = Path(out) / "same" / "artifact.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("shared\n")
            run.log_artifact("artifact", target)
    except RunExists:
        outcome = "exists"
    except RunInProgress:
        outcome = "in_progress"
    queue.put(
        {"proc": proc, "retries": store.retries, "start": start, "end": time.time(), "outcome": outcome}
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the scenario; print and return its summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--busy-timeout-ms", type=int)
    parser.add_argument("--out", required=True)
    parser.add_argument("--same-uid", action="store_true")
    args = parser.parse_args(argv)

    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(args.procs), ctx.Queue()
    target = same_uid_worker if args.same_uid else units_worker
    began = time.time()
    procs = [
        ctx.Process(
            target=target, args=(args.url, i, args.units, args.busy_timeout_ms, args.out, barrier, queue)
        )
        for i in range(args.procs)
    ]
    for p in procs:
        p.start()
    reports = []
    for _ in procs:
        try:
            reports.append(queue.get(timeout=600))
        except Exception:
            break
    for p in procs:
        p.join(timeout=60)
    ended = time.time()

    from sqlalchemy import func, select

    from snakelab.store import open_store
    from snakelab.store.models import Metric, Run

    store = open_store(args.url)
    with store.read() as session:
        runs = session.scalar(select(func.count(Run.id)))
        metrics = session.scalar(select(func.count(Metric.id)))
        succeeded = session.scalar(select(func.count(Run.id)).where(Run.status == "succeeded"))
        attempts = session.scalar(select(func.max(Run.attempt)))
    store.dispose()
    summary = {
        "exit_codes": [p.exitcode for p in procs],
        "outcomes": sorted(r["outcome"] for r in reports),
        "retries": sum(r["retries"] for r in reports),
        "wall_s": round(ended - began, 3),
        "work_wall_s": round(max(r["end"] for r in reports) - min(r["start"] for r in reports), 3)
        if reports
        else None,
        "runs": runs,
        "succeeded": succeeded,
        "metrics": metrics,
        "max_attempt": attempts,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
