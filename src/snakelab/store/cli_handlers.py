"""The work of each ``snakelab store`` command (argument definitions: :mod:`snakelab.store.cli`).

Store errors become one line on stderr and exit status 2; a failed verification exits 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snakelab.store.errors import StoreConfigError, StoreError, StoreNotInitialised

log = logging.getLogger("snakelab.store")


def dispatch(command: str, args: argparse.Namespace) -> None:
    """Run ``command``; turn store errors into one-line messages and exit statuses."""
    from sqlalchemy.exc import DBAPIError

    from snakelab.store.retry import first_line

    try:
        _COMMANDS[command](args)
    except StoreError as exc:
        log.error("%s", exc)
        raise SystemExit(exc.exit_code) from None
    except DBAPIError as exc:
        log.error("store %s: %s", _masked(args), first_line(exc))
        raise SystemExit(2) from None


def _masked(args: argparse.Namespace) -> str:
    from snakelab.store.url import mask_url

    try:
        return mask_url(_resolve(args).url)
    except StoreError:
        return str(args.store)


def _store_section(args: argparse.Namespace) -> Mapping[str, Any] | None:
    if args.config is None:
        return None
    import yaml

    path = Path(args.config)
    if not path.is_file():
        raise StoreConfigError(f"{path}: --config: expected an existing YAML file")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise StoreConfigError(f"{path}: expected YAML ({str(exc).splitlines()[0]})") from None
    section = config.get("store") if isinstance(config, Mapping) else None
    if section is not None and not isinstance(section, Mapping):
        raise StoreConfigError(f"{path}: store: expected a mapping of settings")
    return section


def _resolve(args: argparse.Namespace) -> Any:
    from snakelab.store.url import resolve_url

    return resolve_url(args.store, _store_section(args))


def _open(args: argparse.Namespace, create: bool = False) -> Any:
    from snakelab.store.core import open_store

    return open_store(args.store, create=create, config=_store_section(args))


def _init(args: argparse.Namespace) -> None:
    from snakelab.store.schema import head_revision

    store = _open(args, create=True)
    store.ensure_schema()
    revision = store.current_revision()
    _print_kv(args, {"url": store.masked_url, "revision": revision, "head": head_revision()})


def _upgrade(args: argparse.Namespace) -> None:
    store = _open(args)
    before = store.current_revision()
    if before is None:
        raise StoreNotInitialised(store.masked_url)
    after = store.upgrade()
    _print_kv(args, {"url": store.masked_url, "from": before, "revision": after})


def _current(args: argparse.Namespace) -> None:
    from snakelab.store.schema import check_revision, head_revision

    store = _open(args)
    revision = store.current_revision()
    if revision is None:
        raise StoreNotInitialised(store.masked_url)
    check_revision(revision, store.url, auto_upgrade=True, writable=True)
    _print_kv(args, {"url": store.masked_url, "revision": revision, "head": head_revision()})


def _url(args: argparse.Namespace) -> None:
    resolved = _resolve(args)
    if args.format == "table":
        print(resolved.masked)
    else:
        _print_kv(args, {"url": resolved.masked, "source": resolved.source})


def _runs(args: argparse.Namespace) -> None:
    from snakelab.store.output import emit_frame
    from snakelab.store.query import metrics_long_df, runs_df

    store = _open(args)
    frame = runs_df(store, pipeline=args.pipeline, status=args.status, kind=args.kind, since=args.since)
    if args.format == "table":
        metrics = metrics_long_df(store, list(frame["uid"])) if len(frame) else None
        frame = frame[["uid", "pipeline", "kind", "name", "status", "started_at", "duration_s"]].copy()
        frame["metrics"] = [_key_metrics(metrics, uid) for uid in frame["uid"]]
        frame = frame.rename(columns={"started_at": "started"})
    emit_frame(frame, args.format, empty=f"no runs in {store.masked_url}")


def _key_metrics(metrics: Any, uid: str, limit: int = 3) -> str:
    """``name[split]=value`` of the run's first ``limit`` metrics, last step each."""
    if metrics is None:
        return ""
    rows = metrics[metrics["run_uid"] == uid].sort_values("step").groupby(["name", "split"]).tail(1)
    parts = []
    for row in rows.sort_values(["name", "split"]).head(limit).itertuples():
        label = f"{row.name}[{row.split}]" if row.split else row.name
        parts.append(f"{label}={row.value:.4g}" if row.value == row.value else f"{label}=-")
    more = len(rows) - limit
    return " ".join(parts) + (f" (+{more})" if more > 0 else "")


def _show(args: argparse.Namespace) -> None:
    from snakelab.store.output import emit_document
    from snakelab.store.query import lineage, resolve_run

    store = _open(args)
    doc = lineage(store, resolve_run(store, args.run))
    if args.format != "json":
        last: dict[tuple[str, str], Any] = {}
        for m in sorted(doc["metrics"], key=lambda m: m["step"]):
            last[(m["name"], m["split"])] = m["value"]
        doc["metrics"] = {
            f"{name}[{split}]" if split else name: value for (name, split), value in last.items()
        }
    emit_document(doc, args.format)


def _metrics(args: argparse.Namespace) -> None:
    from snakelab.store.output import emit_frame
    from snakelab.store.query import metrics_df, metrics_long_df

    store = _open(args)
    if args.steps:
        frame = metrics_long_df(
            store, args.run, pipeline=args.pipeline, kind=args.kind, names=args.metric, splits=args.split
        )
    else:
        frame = metrics_df(
            store,
            runs=args.run,
            pipeline=args.pipeline,
            kind=args.kind,
            splits=args.split,
            selected_metrics=args.metric,
        )
    emit_frame(frame, args.format, empty=f"no metrics in {store.masked_url}")


def _datasets(args: argparse.Namespace) -> None:
    from snakelab.store.output import emit_frame
    from snakelab.store.query import datasets_df

    store = _open(args)
    frame = datasets_df(store)
    if args.format == "table":
        frame["content_hash"] = frame["content_hash"].str[:12]
    emit_frame(frame, args.format, empty=f"no datasets in {store.masked_url}")


def _verify(args: argparse.Namespace) -> None:
    import pandas as pd

    from snakelab.store.output import emit_frame
    from snakelab.store.query import resolve_run
    from snakelab.store.verify import OK, verify_runs

    store = _open(args)
    uids = None if args.run is None else [resolve_run(store, run) for run in args.run]
    checks = verify_runs(store, uids, args.root)
    frame = pd.DataFrame([vars(c) for c in checks], columns=list(_CHECK_FIELDS))
    if args.format == "table":
        frame["expected_sha256"] = frame["expected_sha256"].str[:12]
        frame["actual_sha256"] = frame["actual_sha256"].str[:12]
    emit_frame(frame, args.format, empty="no files to verify")
    bad = [c for c in checks if c.status != OK]
    runs = len({c.run_uid for c in checks})
    summary = f"verified {len(checks)} files of {runs} runs: {len(bad)} missing or changed"
    if bad:
        first = bad[0]
        log.error("%s (first: %s %s of run %s)", summary, first.path, first.status, first.run_uid)
        raise SystemExit(1)
    print(summary, file=sys.stderr)


_CHECK_FIELDS = ("run_uid", "direction", "role", "path", "status", "expected_sha256", "actual_sha256")


def _rebuild(args: argparse.Namespace) -> None:
    from snakelab.store.rebuild import find_run_files, rebuild

    find_run_files(args.source)
    store = _open(args, create=True)
    report = rebuild(store, args.source)
    _print_kv(
        args,
        {
            "url": store.masked_url,
            "run_json_files": report.files,
            "added": report.added,
            "already_present": report.present,
            "duplicates": report.duplicates,
            "missing_parents": len(report.missing_parents),
        },
    )


def _print_kv(args: argparse.Namespace, values: Mapping[str, Any]) -> None:
    from snakelab.store.output import emit_document

    emit_document(dict(values), args.format)


_COMMANDS = {
    "init": _init,
    "upgrade": _upgrade,
    "current": _current,
    "url": _url,
    "runs": _runs,
    "show": _show,
    "metrics": _metrics,
    "datasets": _datasets,
    "verify": _verify,
    "rebuild": _rebuild,
}
