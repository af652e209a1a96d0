"""Handlers of ``snakelab tabular <stage>``: resolve the section, open the store, call the stage.

:func:`guarded` turns store errors (unreachable database, schema newer or older than this snakelab,
locked beyond the retry budget) into one line on stderr and exit status 2, and a task with a failed
run into exit status 1. The store is opened, and its schema checked, before a stage writes a file.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from snakelab.core.errors import InputError
from snakelab.tabular import config as tabular_config

if TYPE_CHECKING:
    from snakelab.store import Store

log = logging.getLogger("snakelab.tabular")


def guarded(stage: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run ``stage(args)``; map store and database errors to one line and exit status 2."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from snakelab.store.errors import StoreError

    try:
        return stage(args) or 0
    except StoreError as exc:
        log.error("%s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return exc.exit_code
    except (DBAPIError, SQLAlchemyError) as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.error("store: %s", first[0] if first else type(exc).__name__)
        return 2


def _config(args: argparse.Namespace) -> dict[str, Any]:
    from snakelab.core.config_files import load_yaml

    return load_yaml(args.config) if args.config else {}


def section(args: argparse.Namespace, kind: str, name: str | None) -> dict[str, Any]:
    """The ``--spec`` JSON, else ``tabular.<kind>.<name>`` of ``--config``."""
    if args.spec:
        return tabular_config.spec_json(args.spec)
    if not args.config or name is None:
        raise InputError(None, "--spec", "expected --spec JSON or --config YAML with a section name")
    tabular = tabular_config.tabular_section(_config(args))
    return tabular_config.named(tabular, kind, name, args.config)


def open_writer(args: argparse.Namespace) -> Store:
    """The store, opened for writing: created or upgraded to head, schema checked now."""
    from snakelab.store import open_store

    settings = (
        tabular_config.spec_json(args.store_settings, "--store-settings") if args.store_settings else None
    )
    if settings is None and args.config:
        settings = _config(args).get("store")
    store = open_store(args.store, create=True, config=settings)
    store.ensure_schema()
    return store


def root_seed(args: argparse.Namespace) -> int:
    """``--seed``, else ``tabular.seed`` of ``--config``, else 0."""
    if args.seed is not None:
        return int(args.seed)
    return int(tabular_config.tabular_section(_config(args))["seed"]) if args.config else 0


def register(args: argparse.Namespace) -> None:
    from snakelab.tabular.stages import register as run

    spec = section(args, "datasets", args.dataset)
    run(open_writer(args), spec, args.dataset, args.output)


def split(args: argparse.Namespace) -> None:
    from snakelab.tabular.stages import split as run

    spec = section(args, "pipelines", args.pipeline)
    if args.allowed_encoders:
        encoders = tabular_config.json_list(args.allowed_encoders, "--allowed-encoders")
    elif args.config:
        encoders = tabular_config.tabular_section(_config(args))["allowed_encoders"]
    else:
        encoders = []
    run(open_writer(args), args.pipeline, spec, args.dataset_json, root_seed(args), args.output, encoders)


def prepare(args: argparse.Namespace) -> None:
    from snakelab.tabular.stages import prepare as run

    run(open_writer(args), args.splits, args.fold, args.output)


def plan(args: argparse.Namespace) -> None:
    from snakelab.tabular.stages import plan as run

    spec = section(args, "experiments", args.experiment)
    if args.pipeline_spec:
        pipeline = tabular_config.spec_json(args.pipeline_spec, "--pipeline-spec")
    elif args.config:
        tabular = tabular_config.tabular_section(_config(args))
        pipeline = tabular_config.named(tabular, "pipelines", spec.get("pipeline", ""), args.config)
    else:
        raise InputError(None, "--pipeline-spec", "expected the experiment's pipeline section (or --config)")
    run(
        open_writer(args),
        args.experiment,
        spec,
        pipeline,
        args.dataset_json,
        args.splits,
        root_seed(args),
        args.output,
    )


def train(args: argparse.Namespace) -> int:
    from snakelab.tabular.train import train_task

    summary = train_task(open_writer(args), args.plan, args.task, args.output)
    failed = summary["counts"]["failed"]
    if failed:
        log.error("task %d: %d run(s) failed; see runs/<key>.failed.json", args.task, failed)
        return 1
    return 0


def aggregate(args: argparse.Namespace) -> None:
    from snakelab.tabular.summary import aggregate as run

    run(open_writer(args), args.plan, args.output_dir)


def report(args: argparse.Namespace) -> None:
    from snakelab.tabular.summary import report as run

    run(args.plan, args.aggregate_dir, args.output_dir)


def infer(args: argparse.Namespace) -> None:
    from snakelab.tabular.infer import infer as run

    run(open_writer(args), args.plan, args.run, args.input, args.output, args.target_column)
