"""Argument definitions of the ``snakelab batchie <stage>`` commands (spec §8).

Imports only ``argparse``; each handler imports its stage module when it runs. One stage per
Snakemake rule in ``workflow/rules/batchie.smk`` (retrospective rules ``batchie_*``, prospective rules
``batchie_prospective_*``, ``batchie_ingest`` and ``batchie_export_batch``; both modes call the same
stage where the work is the same); a stage's work is ``main(args)`` of
``snakelab.batchie.stages.<stage>`` unless named otherwise:

=====================  ================================  ==================  ============================
retrospective rule     prospective rule                  stage               work (in snakelab.batchie)
=====================  ================================  ==================  ============================
``batchie_demo_data``  ``batchie_demo_data``             ``make-demo``       ``demo.make_demo``
(by hand, benchmark)   (by hand)                         ``make-synthetic``  ``stages.make_synthetic``
``batchie_prepare``    –                                 ``prepare``         ``stages.prepare``
–                      ``batchie_ingest`` (checkpoint)   ``ingest``          ``stages.ingest``
``batchie_train``      ``batchie_prospective_train``     ``train``           ``stages.train``
``batchie_evaluate``   ``batchie_prospective_evaluate``  ``evaluate``        ``stages.evaluate``
``batchie_analyze``    ``batchie_prospective_analyze``   ``analyze``         ``stages.analyze``
``batchie_distance``   ``batchie_prospective_distance``  ``distance``        ``stages.distance``
``batchie_score``      ``batchie_prospective_score``     ``score``           ``stages.score``
``batchie_select``     ``batchie_prospective_select``    ``select``          ``stages.select``
``batchie_reveal``     –                                 ``reveal``          ``stages.reveal``
``batchie_metadata``   ``batchie_prospective_metadata``  ``metadata``        ``io.write_screen_metadata``
–                      ``batchie_export_batch``          ``export-batch``    ``stages.export_batch``
``batchie_summary``    –                                 ``summarize``       ``stages.summarize``
=====================  ================================  ==================  ============================

Class parameters (model, distance metric, scorer, policy, plate generators and smoothers) are given as
``--<role>-param KEY=VALUE`` (repeatable) or ``--<role>-params-json '{...}'``; every constructor
parameter is settable, cast by its declared type; unknown keys fail listing the allowed ones.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Callable

log = logging.getLogger("snakelab.batchie")


def _class_option(parser: argparse.ArgumentParser, role: str, default: str | None, what: str) -> None:
    group = parser.add_argument_group(what)
    group.add_argument(f"--{role}", default=default, metavar="NAME", help=f"{what} class (default {default})")
    group.add_argument(
        f"--{role}-param", action="append", default=[], metavar="KEY=VALUE", help="a parameter (repeatable)"
    )
    group.add_argument(f"--{role}-params-json", metavar="JSON", help="parameters as a JSON object")


def class_spec(args: argparse.Namespace, role: str) -> tuple[str | None, dict]:
    """(name, params) of a class option; params merged from the JSON and KEY=VALUE forms."""
    from snakelab.batchie.registry import parse_params

    attr = role.replace("-", "_")
    params = parse_params(
        getattr(args, f"{attr}_param"), getattr(args, f"{attr}_params_json"), f"--{role}-param"
    )
    return getattr(args, attr), params


def _coordinates(parser: argparse.ArgumentParser, *names: str) -> None:
    helps = {
        "seed": "config seed (default 0)",
        "rep": "replicate index (default 0)",
        "iter": "iteration index (default 0)",
        "plate": "step index within the iteration's batch (default 0)",
    }
    group = parser.add_argument_group("seed coordinates")
    for name in names:
        group.add_argument(f"--{name}", type=int, default=0, metavar="N", help=helps[name])


def _batch_ids(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--batch-plate-ids",
        nargs="*",
        type=int,
        default=[],
        metavar="ID",
        help="plates already selected in this iteration's batch",
    )
    group.add_argument(
        "--batch-selected",
        nargs="*",
        default=[],
        metavar="FILE",
        help="selected_plate files of the earlier steps of this iteration",
    )


def _stage(module: str) -> Callable[[argparse.Namespace], None]:
    def handler(args: argparse.Namespace) -> None:
        importlib.import_module(f"snakelab.batchie.stages.{module}").main(args)

    return handler


def _make_demo(args: argparse.Namespace) -> None:
    from snakelab.batchie.demo import make_demo

    unmasked, masked = make_demo(args.output_dir)
    log.info("wrote %s and %s", unmasked, masked)


def _metadata(args: argparse.Namespace) -> None:
    from snakelab.batchie.data import Screen
    from snakelab.batchie.io import write_screen_metadata

    write_screen_metadata(Screen.load_h5(args.screen), args.output)
    log.info("wrote %s", args.output)


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the batchie stages to ``parser`` (the ``snakelab batchie`` group)."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def stage(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return stages.add_parser(name, parents=[common], help=summary, description=description)

    p = stage(
        "make-demo",
        "write BATCHIE's 5-plate demo screens",
        "Write unmasked_screen.h5 (all observed) and masked_screen.h5 (only plate_A observed): "
        "BATCHIE's 12-experiment demo screen.",
    )
    p.add_argument("--output-dir", required=True, metavar="DIR", help="directory for the two screens")
    p.set_defaults(handler=_make_demo)

    p = stage(
        "make-synthetic",
        "write a synthetic screen with a planted model",
        "Simulate a fully observed screen from the SparseDrugCombo mean function (spec §10).",
    )
    p.add_argument("--output", required=True, metavar="H5", help="screen to write")
    p.add_argument("--truth", required=True, metavar="NPZ", help="planted parameters and clean mean")
    p.add_argument(
        "--preset",
        choices=["default", "small"],
        default="default",
        help="default: 20 samples x 60 drug-doses, 10,100 wells; small: the test preset",
    )
    _coordinates(p, "seed")
    p.set_defaults(handler=_stage("make_synthetic"))

    p = stage(
        "prepare",
        "mask a fully observed screen into training and test screens",
        "Retrospective preparation: combo filter, initial plate, plate generator, smoother, holdout.",
    )
    p.add_argument("--data", required=True, metavar="H5", help="fully observed input screen")
    p.add_argument("--training-output", required=True, metavar="H5")
    p.add_argument("--test-output", required=True, metavar="H5")
    _class_option(p, "initial-plate-generator", None, "initial plate generator")
    _class_option(p, "plate-generator", None, "plate generator")
    _class_option(p, "plate-smoother", None, "plate smoother")
    p.add_argument(
        "--holdout-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="fraction of each unobserved plate moved to the test screen (default 0.1)",
    )
    p.add_argument("--no-combo-filter", action="store_true", help="keep rows of treatments never combined")
    _coordinates(p, "seed", "rep")
    p.set_defaults(handler=_stage("prepare"))

    p = stage("train", "sample one MCMC chain of the model", "Gibbs sampling of SparseDrugCombo (spec §4).")
    p.add_argument("--data", required=True, metavar="H5", help="training screen (observed rows are used)")
    p.add_argument("--output", required=True, metavar="H5", help="thetas_<chain>.h5 to write")
    _class_option(p, "model", "SparseDrugCombo", "model")
    p.add_argument("--n-samples", type=int, default=100, metavar="N")
    p.add_argument("--n-burnin", type=int, default=1000, metavar="N")
    p.add_argument("--thin", type=int, default=10, metavar="N")
    p.add_argument("--n-chains", type=int, default=1, metavar="N", help="chains of the run (for the log)")
    p.add_argument("--chain-index", type=int, default=0, metavar="C")
    p.add_argument("--blocking", choices=["colour", "joint", "sequential"], default="colour")
    p.add_argument("--joint-max-dim", type=int, default=1024, metavar="N")
    p.add_argument("--backend", choices=["numpy"], default="numpy")
    p.add_argument("--predict-block-mb", type=int, default=256, metavar="MB")
    _coordinates(p, "seed", "rep", "iter")
    p.set_defaults(handler=_stage("train"))

    p = stage("evaluate", "predict a screen with every theta", "Write model_evaluation.h5 (spec §2.4).")
    p.add_argument("--screen", required=True, metavar="H5", help="evaluation screen")
    p.add_argument("--thetas", required=True, nargs="+", metavar="H5", help="thetas_<c>.h5 in chain order")
    p.add_argument("--output", required=True, metavar="H5")
    p.add_argument("--observed-only", action="store_true", help="evaluate on observed rows only")
    p.add_argument("--predict-block-mb", type=int, default=256, metavar="MB")
    p.set_defaults(handler=_stage("evaluate"))

    p = stage(
        "analyze",
        "plots and summary statistics of a model evaluation",
        "Write model_evaluation_analysis/ (summary_statistics.json and five PDF plots).",
    )
    p.add_argument("--model-evaluation", required=True, metavar="H5")
    p.add_argument("--screen", required=True, metavar="H5")
    p.add_argument("--thetas", required=True, nargs="+", metavar="H5")
    p.add_argument("--output-dir", required=True, metavar="DIR")
    p.set_defaults(handler=_stage("analyze"))

    p = stage(
        "distance",
        "one chunk of the pairwise theta distance matrix",
        "Write distance_matrix_chunk_<k>.h5 (spec §5).",
    )
    p.add_argument("--data", required=True, metavar="H5")
    p.add_argument("--thetas", required=True, nargs="+", metavar="H5")
    p.add_argument("--output", required=True, metavar="H5")
    _class_option(p, "distance-metric", "MSEDistance", "distance metric")
    p.add_argument("--n-chunks", type=int, default=1, metavar="N")
    p.add_argument("--chunk-index", type=int, default=0, metavar="K")
    p.add_argument("--predict-block-mb", type=int, default=256, metavar="MB")
    p.set_defaults(handler=_stage("distance"))

    p = stage("score", "score one chunk of the candidate plates", "Write score_chunk_<k>.h5 (spec §6).")
    p.add_argument("--data", required=True, metavar="H5", help="the step's screen")
    p.add_argument("--thetas", required=True, nargs="+", metavar="H5")
    p.add_argument("--distance-matrix", required=True, nargs="+", metavar="H5", help="all distance chunks")
    p.add_argument("--output", required=True, metavar="H5")
    _class_option(p, "scorer", "GaussianDBALScorer", "scorer")
    p.add_argument("--n-chunks", type=int, default=1, metavar="N")
    p.add_argument("--chunk-index", type=int, default=0, metavar="K")
    p.add_argument("--predict-block-mb", type=int, default=256, metavar="MB")
    _batch_ids(p)
    _coordinates(p, "seed", "rep", "iter", "plate")
    p.set_defaults(handler=_stage("score"))

    p = stage("select", "pick the next plate from the scores", "Write selected_plate (spec §6).")
    p.add_argument("--data", required=True, metavar="H5", help="the step's screen")
    p.add_argument("--scores", required=True, nargs="+", metavar="H5", help="all score chunks of the step")
    p.add_argument("--output", required=True, metavar="FILE")
    _class_option(p, "policy", None, "plate policy")
    p.add_argument(
        "--policy-fallback",
        choices=["unrestricted", "stop"],
        default="unrestricted",
        help="when the policy leaves no plate: choose from all (default) or write -1",
    )
    _batch_ids(p)
    _coordinates(p, "seed", "rep", "iter", "plate")
    p.set_defaults(handler=_stage("select"))

    p = stage("reveal", "mark the selected plate observed", "Write advanced_screen.h5 (spec §6).")
    p.add_argument("--screen", required=True, metavar="H5")
    p.add_argument("--output", required=True, metavar="H5")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--plate-id", type=int, metavar="ID")
    which.add_argument("--selected", metavar="FILE", help="a selected_plate file")
    p.set_defaults(handler=_stage("reveal"))

    p = stage(
        "metadata",
        "write screen_metadata.json of a screen",
        "Count samples, treatments, experiments and (un)observed plates of a screen.",
    )
    p.add_argument("--screen", required=True, metavar="H5", help="a BATCHIE screen (.h5)")
    p.add_argument("--output", required=True, metavar="JSON", help="screen_metadata.json to write")
    p.set_defaults(handler=_metadata)

    p = stage(
        "export-batch",
        "write a prospective round's batch as tables for the lab",
        "Write next_batch.tsv (order, plate_id, plate_name, n_experiments, score) and "
        "next_batch_experiments.tsv (the experiments to run, ingest columns, empty observation) "
        "(spec §3.6).",
    )
    p.add_argument("--screen", required=True, metavar="H5", help="the round's screen S_r")
    p.add_argument(
        "--selected",
        required=True,
        nargs="*",
        metavar="FILE",
        help="selected_plate file of each step of the round, in step order",
    )
    p.add_argument(
        "--scores",
        required=True,
        nargs="*",
        metavar="H5",
        help="score chunks of every step, step after step (the same number per step)",
    )
    p.add_argument("--output-dir", required=True, metavar="DIR", help="directory for the two tables")
    p.set_defaults(handler=_stage("export_batch"))

    p = stage(
        "ingest",
        "observe a batch's plates from the lab's results table",
        "Write the next round's screen: S_r with the rows of the results table (TSV or CSV: plate_name, "
        "sample_name, treatment_name_1, treatment_dose_1, ..., observation) observed; plates whole, "
        "values finite and >= 0, mappings kept (spec §3.6).",
    )
    p.add_argument("--screen", required=True, metavar="H5", help="the round's screen S_r")
    p.add_argument("--observations", required=True, metavar="TABLE", help="the filled results table")
    p.add_argument("--output", required=True, metavar="H5", help="S_{r+1} to write")
    p.set_defaults(handler=_stage("ingest"))

    p = stage(
        "summarize",
        "trajectory table and MSE plot over arms and replicates",
        "Write trajectory.tsv, selections.json and mse_trajectory.{png,pdf}.",
    )
    p.add_argument(
        "--runs",
        required=True,
        nargs="+",
        metavar="DIR",
        help="results/batchie/<run>/<arm>/rep_<rep> directories",
    )
    p.add_argument("--output-dir", required=True, metavar="DIR")
    p.add_argument(
        "--store",
        metavar="URL",
        help="record each iteration in this metastore (default: SNAKELAB_STORE_URL; neither: no recording)",
    )
    p.add_argument(
        "--seed", type=int, default=None, metavar="N", help="the config seed, recorded with each run"
    )
    p.set_defaults(handler=_stage("summarize"))
