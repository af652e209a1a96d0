"""Argument definitions of the ``snakelab tabular <stage>`` commands (spec §10, §11).

Imports only ``argparse``; each handler imports its stage module when it runs. One stage per rule of
``workflow/rules/tabular.smk``:

=====================  ===========  ===============================================
rule                   stage        work (in snakelab.tabular)
=====================  ===========  ===============================================
``tabular_register``   register     ``stages.register`` → datasets/<name>.json
``tabular_split``      split        ``stages.split`` → pipelines/<p>/splits.json
``tabular_prepare``    prepare      ``stages.prepare`` → cache/<fold>/manifest.json
``tabular_plan``       plan         ``stages.plan`` → experiments/<e>/plan.json
``tabular_train``      train        ``train.train_task`` → tasks/task_<t>.json
``tabular_aggregate``  aggregate    ``summary.aggregate`` → metrics.parquet, aggregate*.csv, ...
``tabular_report``     report       ``summary.report`` → plots/*.png
(by hand)              infer        ``infer.infer`` → predictions of new data
=====================  ===========  ===============================================

A section is named with ``--config <yaml>`` plus ``--dataset|--pipeline|--experiment NAME``, or given
as ``--spec JSON`` (the resolved section: what the rules pass, so ``snakemake --config`` overrides
reach it). ``--store URL`` picks the metastore (default: ``SNAKELAB_STORE_URL``, then the config's
``store.url``, then ``sqlite:///results/snakelab.sqlite``). Store errors (unreachable database, schema
newer or older than this snakelab) are one line and exit status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable


def _section(parser: argparse.ArgumentParser, kind: str | None) -> None:
    group = parser.add_argument_group("section")
    group.add_argument("--config", metavar="YAML", help="a config file holding the tabular section")
    if kind is not None:
        group.add_argument(
            f"--{kind}", metavar="NAME", required=True, help=f"the {kind} (name in the config)"
        )
    group.add_argument("--spec", metavar="JSON", help="the resolved section (overrides --config)")
    group.add_argument(
        "--store",
        metavar="URL",
        help="metastore URL (default SNAKELAB_STORE_URL, store.url, results/snakelab.sqlite)",
    )
    group.add_argument("--store-settings", metavar="JSON", help="the config's store section (timeouts, pool)")


def _seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=int, metavar="N", help="tabular.seed, the root seed (default: config, else 0)"
    )


def _handler(name: str) -> Callable[[argparse.Namespace], None]:
    def handle(args: argparse.Namespace) -> None:
        module = importlib.import_module("snakelab.tabular.cli_stages")
        status = module.guarded(getattr(module, name), args)
        if status:
            sys.exit(status)

    return handle


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the tabular stages to ``snakelab tabular``."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def stage(name: str, help_text: str, kind: str | None) -> argparse.ArgumentParser:
        sub = stages.add_parser(name, parents=[common], help=help_text, description=help_text)
        _section(sub, kind)
        sub.set_defaults(handler=_handler(name))
        return sub

    sub = stage("register", "register (or reuse) a dataset; write datasets/<name>.json", "dataset")
    sub.add_argument("--output", required=True, metavar="JSON", help="the dataset summary to write")

    sub = stage("split", "features, label, splits and folds of a pipeline; write splits.json", "pipeline")
    sub.add_argument("--dataset-json", required=True, metavar="JSON", help="output of the register stage")
    sub.add_argument("--allowed-encoders", metavar="JSON", help="tabular.allowed_encoders as a JSON list")
    _seed(sub)
    sub.add_argument("--output", required=True, metavar="JSON", help="splits.json to write")

    sub = stage("prepare", "fit one fold's preprocessing on its train rows; write the sample cache", None)
    sub.add_argument("--splits", required=True, metavar="JSON", help="splits.json of the pipeline")
    sub.add_argument("--fold", required=True, metavar="FOLD", help="fold_<i> or no_fold")
    sub.add_argument("--output", required=True, metavar="JSON", help="cache/<fold>/manifest.json")

    sub = stage("plan", "algorithm, hyperparameters, queue, jobs and runs; write plan.json", "experiment")
    sub.add_argument("--pipeline-spec", metavar="JSON", help="the experiment's pipeline section (resolved)")
    sub.add_argument("--dataset-json", required=True, metavar="JSON", help="output of the register stage")
    sub.add_argument("--splits", required=True, metavar="JSON", help="splits.json of the pipeline")
    _seed(sub)
    sub.add_argument("--output", required=True, metavar="JSON", help="plan.json to write")

    sub = stage("train", "train the runs of one task; write tasks/task_<t>.json", None)
    sub.add_argument("--plan", required=True, metavar="JSON", help="plan.json of the experiment")
    sub.add_argument("--task", required=True, type=int, metavar="N", help="task index (0-based)")
    sub.add_argument("--output", required=True, metavar="JSON", help="the task summary to write")

    sub = stage("aggregate", "metrics table, cross-fold aggregates, best combo, importance", None)
    sub.add_argument("--plan", required=True, metavar="JSON", help="plan.json of the experiment")
    sub.add_argument("--tasks", nargs="*", default=[], metavar="JSON", help="the task summaries")
    sub.add_argument("--output-dir", required=True, metavar="DIR", help="where metrics.parquet etc. go")

    sub = stage(
        "report", "plots of an experiment (performance, learning curves, ROC/PR, confusion, importance)", None
    )
    sub.add_argument("--plan", required=True, metavar="JSON", help="plan.json of the experiment")
    sub.add_argument("--aggregate-dir", required=True, metavar="DIR", help="output of the aggregate stage")
    sub.add_argument("--output-dir", required=True, metavar="DIR", help="plots/ to write")

    sub = stage("infer", "predict new data with a trained run of an experiment", None)
    sub.add_argument("--plan", required=True, metavar="JSON", help="plan.json of the experiment")
    sub.add_argument("--run", default="best", metavar="KEY", help="run key, or 'best' (default)")
    sub.add_argument(
        "--input", required=True, metavar="FILE", help="csv/tsv/parquet with the training columns"
    )
    sub.add_argument("--target-column", metavar="C", help="score the predictions against this column")
    sub.add_argument("--output", required=True, metavar="PARQUET", help="predictions to write")
