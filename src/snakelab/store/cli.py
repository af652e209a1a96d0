"""Argument definitions of ``snakelab store <command>`` (spec §10). Imports only ``argparse``.

==========  ===========================================================================
command     what it does
==========  ===========================================================================
init        create the database (if needed) and migrate it to the current schema
upgrade     migrate an existing database to the current schema
current     print the database's schema revision
url         print the store URL that applies (password masked) and where it came from
runs        list runs (filters: --pipeline, --kind, --status, --since)
show        one run: config, seed, params, env, inputs/outputs with sha256, last metrics
metrics     metric values per run and split (filters: --pipeline, --kind, --run, --split, --metric)
datasets    registered dataset versions
verify      re-hash the indexed files; exit 1 if one is missing or changed
rebuild     index the run.json files under a directory into the store
==========  ===========================================================================

Every command takes ``--store URL`` (else ``SNAKELAB_STORE_URL``, else ``store.url`` of
``--config FILE``, else ``sqlite:///results/snakelab.sqlite``) and ``--format table|csv|json``.
Exit status: 0 ok, 1 verification or run failure, 2 usage/config/store error (one line).
Read-only commands never create a database.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _handler(command: str) -> Callable[[argparse.Namespace], None]:
    def handler(args: argparse.Namespace) -> None:
        from snakelab.store.cli_handlers import dispatch

        dispatch(command, args)

    return handler


def _store_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("store options")
    group.add_argument(
        "--store", metavar="URL", help="store URL (sqlite:///FILE or postgresql://USER@HOST/DB)"
    )
    group.add_argument(
        "--config", metavar="YAML", help="a snakelab config file whose store: section (url, settings) applies"
    )
    group.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format (default table)"
    )
    return parent


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the store commands to ``parser`` (the ``snakelab store`` group)."""
    commands = parser.add_subparsers(dest="stage", metavar="COMMAND", required=True)
    store_options = _store_options()

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        text = f"{summary[:1].upper()}{summary[1:]}. {description}"
        p = commands.add_parser(name, parents=[common, store_options], help=summary, description=text)
        p.set_defaults(handler=_handler(name))
        return p

    command("init", "create the store and migrate it to the current schema", "Safe to run again.")
    command(
        "upgrade",
        "migrate an existing store to the current schema",
        "Writers do this themselves unless store.auto_upgrade is false.",
    )
    command("current", "print the store's schema revision", "Also prints the head revision of this snakelab.")
    command("url", "print the store URL that applies", "The password is masked; nothing is opened.")

    p = command(
        "runs", "list runs", "One row per run: uid, pipeline, kind, name, status, start, duration, metrics."
    )
    p.add_argument("--pipeline", action="append", metavar="P", help="only this pipeline (repeatable)")
    p.add_argument("--kind", action="append", metavar="K", help="only this kind of run (repeatable)")
    p.add_argument(
        "--status",
        action="append",
        choices=("running", "succeeded", "failed"),
        help="only this status (repeatable)",
    )
    p.add_argument(
        "--since", metavar="ISO", help="only runs started at or after this time (UTC unless given)"
    )

    p = command(
        "show", "show one run", "Config, seed, params, env, inputs/outputs with sha256, last metric values."
    )
    p.add_argument("run", metavar="UID|ID", help="a run uid, a unique uid prefix, or a database id")

    p = command(
        "metrics",
        "metric values per run and split",
        "Wide: the last value (highest step) of each metric per run and split; --steps: every value.",
    )
    p.add_argument("--pipeline", action="append", metavar="P", help="only runs of this pipeline (repeatable)")
    p.add_argument("--kind", action="append", metavar="K", help="only runs of this kind (repeatable)")
    p.add_argument("--run", action="append", metavar="UID", help="only this run (repeatable)")
    p.add_argument("--split", action="append", metavar="S", help="only this split (repeatable)")
    p.add_argument("--metric", action="append", metavar="M", help="only this metric (repeatable)")
    p.add_argument("--steps", action="store_true", help="every value, one row each (long format)")

    command("datasets", "list dataset versions", "Name, version, typ, shape, content hash, ingested, path.")

    p = command(
        "verify",
        "re-hash the files the store indexes",
        "Every input and output of the chosen runs; exit status 1 if one is missing or changed.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--run", action="append", metavar="UID", help="only this run (repeatable)")
    which.add_argument("--all", action="store_true", help="every run (the default)")
    p.add_argument(
        "--root", metavar="DIR", help="directory relative paths start from (default: the working dir)"
    )

    p = command(
        "rebuild",
        "index run.json files into the store",
        "Runs already in the store (same uid) are kept; the store is created if needed.",
    )
    p.add_argument("--from", dest="source", required=True, metavar="DIR", help="results directory to scan")
