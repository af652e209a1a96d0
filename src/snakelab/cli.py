"""The ``snakelab`` command: ``snakelab <pipeline> <stage> [options]``.

One subcommand group per pipeline, one stage per Snakemake rule. This module imports only
``argparse`` and the pipelines' argument definitions; a stage imports its numerical code (and any
framework: TensorFlow, torch, JAX) only when it runs, so ``snakelab --help`` and light stages
start in a fraction of a second.

Errors in user input (:class:`snakelab.core.errors.InputError`, missing files) are printed as one
line ``error: <file>: <field>: <expected>`` and the process exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from snakelab import __version__

#: pipeline name → (module defining ``register(subparsers, common)``, or None while its issue is
#: open; one-line description shown in ``snakelab --help``).
PIPELINES: dict[str, tuple[str | None, str]] = {
    "batchie": ("snakelab.batchie.commands", "Bayesian active learning for combination drug screens"),
    "scmedal": ("snakelab.scmedal.commands", "mixed-effects autoencoders for single-cell batch effects"),
    "imnn": ("snakelab.imnn.commands", "information-maximising networks and likelihood-free inference"),
    "segment": ("snakelab.segment.commands", "volumetric segmentation training and blockwise prediction"),
    "tabular": ("snakelab.tabular.commands", "tabular model experiments over folds and hyperparameter grids"),
    "store": ("snakelab.store.cli", "the metastore: runs, lineage and metrics of every pipeline"),
}


def common_options() -> argparse.ArgumentParser:
    """Options every stage accepts: ``--log``, ``-v/--verbose``, ``--progress``, ``--threads``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("common options")
    group.add_argument("--log", metavar="FILE", help="append log messages to FILE (a rule's log:)")
    group.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    group.add_argument("--progress", action="store_true", help="draw progress bars in the log")
    group.add_argument(
        "--threads", type=int, default=1, metavar="N", help="threads for numerical libraries (default 1)"
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser: top-level options and every pipeline's stages."""
    parser = argparse.ArgumentParser(
        prog="snakelab",
        description="Run one stage of a snakelab pipeline (each Snakemake rule calls one stage).",
    )
    parser.add_argument("--version", action="version", version=f"snakelab {__version__}")
    pipelines = parser.add_subparsers(dest="pipeline", metavar="PIPELINE", required=True)
    common = common_options()
    for name, (module_name, description) in PIPELINES.items():
        sub = pipelines.add_parser(name, help=description, description=description)
        if module_name is None:
            sub.epilog = f"The {name} stages are not available in snakelab {__version__} yet."
            sub.add_subparsers(dest="stage", metavar="STAGE", required=True)
            continue
        importlib.import_module(module_name).register(sub, common)
    return parser


def _configure(args: argparse.Namespace) -> None:
    from snakelab.core.logs import setup_logging
    from snakelab.core.progress import enable_progress
    from snakelab.core.threads import limit_threads

    setup_logging(args.log, args.verbose)
    enable_progress(args.progress)
    limit_threads(args.threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``snakelab`` console script; returns the process exit status."""
    args = build_parser().parse_args(argv)
    from snakelab.core.errors import InputError

    try:
        _configure(args)
        args.handler(args)
    except InputError as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: file not found")
    return 0


def _fail(message: str) -> int:
    import logging

    logging.getLogger("snakelab").error(message)
    return 2


if __name__ == "__main__":
    sys.exit(main())
