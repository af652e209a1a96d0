"""Argument definitions of the ``snakelab segment <stage>`` commands (spec §13).

Imports only ``argparse``, ``json`` and ``pathlib``; each handler imports its module (and torch, for
train, validate, predict-block and apply) when it runs, so ``snakelab segment --help`` and the light
stages start fast. Paths are made absolute at entry. One stage per rule of workflow/rules/segment.smk:

==========================  ================  ===========================================
rule                        stage             work (in snakelab.segment)
==========================  ================  ===========================================
``segment_make_data``       ``make-data``     ``data.make_data``
``segment_convert``         ``convert``       ``data.convert``
``segment_configs``         ``configs``       ``configs.resolve_run`` + ``write_configs``
``segment_train``           ``train``         ``training.train_run``
``segment_validate``        ``validate``      ``validation.validate_job`` (mode jobs)
``segment_gather_scores``   ``gather-scores`` ``validation.gather_scores`` (mode jobs)
``segment_select_best``     ``select-best``   ``best.write_best``
``segment_plan_blocks``     ``plan-blocks``   ``predict.plan`` (a checkpoint)
``segment_predict_block``   ``predict-block`` ``predict.predict_block``
``segment_stitch``          ``stitch``        ``predict.stitch``
``segment_postprocess``     ``postprocess``   ``predict.postprocess``
``segment_evaluate``        ``evaluate``      ``predict.evaluate``
``segment_plot``            ``plot``          ``plots.plot_run``
``segment_summary``         ``summary``       ``plots.plot_runs_summary``
(by hand)                   ``apply``         ``predict.apply``
==========================  ================  ===========================================
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger("snakelab.segment")


def _abs(value: str | None) -> str | None:
    return None if value is None else str(Path(value).absolute())


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.replace(",", " ").split()]


def _make_data(args: argparse.Namespace) -> None:
    from snakelab.core.errors import InputError
    from snakelab.segment.data import make_data

    try:
        spec = json.loads(args.spec_json)
    except json.JSONDecodeError as exc:
        raise InputError(None, "--spec-json", f"expected a JSON object ({exc.msg})") from None
    log.info("wrote %s", make_data(spec, _abs(args.output)))


def _convert(args: argparse.Namespace) -> None:
    from snakelab.segment.data import convert

    path = convert(
        args.raw,
        args.labels,
        _abs(args.output),
        args.voxel_size,
        args.offset,
        args.units,
        args.mask,
        args.classes,
    )
    log.info("wrote %s", path)


def _configs(args: argparse.Namespace) -> None:
    import yaml

    from snakelab.core.errors import InputError
    from snakelab.segment.configs import check_section, resolve_run, write_configs

    root = _abs(args.root)
    if args.run_json is not None:
        try:
            doc = json.loads(args.run_json)
        except json.JSONDecodeError as exc:
            raise InputError(None, "--run-json", f"expected a JSON object ({exc.msg})") from None
    else:
        if args.section is None or args.run is None:
            raise InputError(None, "--section", "give --run-json, or --section FILE with --run RUN")
        source = Path(args.section)
        section = yaml.safe_load(source.read_text())
        if not isinstance(section, dict):
            raise InputError(source, "segment", "expected a YAML mapping")
        section = section.get("segment", section)
        check_section(section)
        doc = resolve_run(section, args.run, root)
    log.info("wrote %s", write_configs(doc, root))


def _train(args: argparse.Namespace) -> None:
    from snakelab.segment.training import train_run

    done = train_run(
        _abs(args.run_dir), args.threads, args.validation_mode, args.store_arrays, args.batch, args.stop_after
    )
    if done:
        log.info(
            "trained %s: %d iterations, final loss %.4g, %.3f s/iteration",
            done["run"],
            done["iterations"],
            done["final_loss"],
            done["s_per_iteration"] or 0.0,
        )
    if done:
        from snakelab.segment.lineage import record_run

        record_run(args.store, _abs(args.run_dir))


def _validate(args: argparse.Namespace) -> None:
    from snakelab.segment.validation import validate_job

    log.info(
        "wrote %s",
        validate_job(_abs(args.run_dir), args.iteration, args.dataset, _abs(args.output), args.threads),
    )


def _gather(args: argparse.Namespace) -> None:
    from snakelab.segment.validation import gather_scores

    log.info("wrote %s", gather_scores(_abs(args.run_dir), [_abs(f) for f in args.inputs], _abs(args.output)))


def _select_best(args: argparse.Namespace) -> None:
    from snakelab.segment.best import write_best

    log.info("wrote %s", write_best(_abs(args.run_dir), args.criterion, _abs(args.output)))


def _plan_blocks(args: argparse.Namespace) -> None:
    from snakelab.segment.predict import plan
    from snakelab.segment.roi import Roi

    roi = None
    if args.roi_offset is not None or args.roi_shape is not None:
        roi = Roi(args.roi_offset or [0, 0, 0], args.roi_shape)
    log.info("wrote %s", plan(_abs(args.run_dir), _abs(args.raw), args.block_shape, _abs(args.output), roi))


def _predict_block(args: argparse.Namespace) -> None:
    from snakelab.segment.best import read_best
    from snakelab.segment.predict import predict_block

    checkpoint = args.checkpoint or read_best(_abs(args.best))["checkpoint_path"]
    path = predict_block(
        _abs(args.run_dir),
        _abs(args.blocks),
        args.index,
        _abs(checkpoint),
        _abs(args.output),
        args.batch,
        args.threads,
    )
    log.info("wrote %s", path)


def _stitch(args: argparse.Namespace) -> None:
    from snakelab.segment.best import read_best
    from snakelab.segment.predict import stitch

    iteration = read_best(_abs(args.best))["iteration"] if args.best else None
    path = stitch(
        _abs(args.run_dir),
        _abs(args.blocks),
        [_abs(f) for f in args.block_files],
        _abs(args.output),
        args.dtype,
        iteration,
    )
    log.info("wrote %s", path)


def _postprocess(args: argparse.Namespace) -> None:
    from snakelab.segment.predict import postprocess

    path = postprocess(
        _abs(args.run_dir), _abs(args.prediction), _abs(args.output), _abs(args.best), args.parameter
    )
    log.info("wrote %s", path)


def _evaluate(args: argparse.Namespace) -> None:
    from snakelab.segment.predict import evaluate

    doc = evaluate(_abs(args.run_dir), _abs(args.segmentation), _abs(args.dataset), _abs(args.output))
    log.info("%s on %s: %s", doc["run"], doc["dataset"], doc["scores"])


def _apply(args: argparse.Namespace) -> None:
    from snakelab.segment.predict import apply

    path = apply(
        _abs(args.run_dir),
        _abs(args.raw),
        _abs(args.output_dir),
        _abs(args.best),
        args.iteration,
        args.parameter,
        args.block_shape,
        args.batch,
        args.threads,
    )
    log.info("wrote %s", path)


def _plot(args: argparse.Namespace) -> None:
    from snakelab.segment.plots import plot_run

    volumes = {}
    for item in args.volume:
        name, dataset, predict_dir = item.split("=", 1)[0], *item.split("=", 1)[1].split(",", 1)
        volumes[name] = (_abs(dataset), _abs(predict_dir))
    for path in plot_run(_abs(args.run_dir), _abs(args.best), volumes, _abs(args.output_dir)):
        log.info("wrote %s", path)


def _summary(args: argparse.Namespace) -> None:
    from snakelab.segment.plots import plot_runs_summary

    log.info("wrote %s", plot_runs_summary([_abs(f) for f in args.best], _abs(args.output)))


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the segment stages to ``parser`` (the ``snakelab segment`` group)."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def stage(name: str, summary: str) -> argparse.ArgumentParser:
        return stages.add_parser(name, parents=[common], help=summary, description=summary)

    def run_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--run-dir", required=True, metavar="DIR", help="results/segment/runs/{run} (holds run.yaml)"
        )

    p = stage("make-data", "write a synthetic spheres dataset (raw, labels, classes) as {dataset}.zarr")
    p.add_argument("--spec-json", required=True, metavar="JSON", help="the segment.data entry (kind spheres)")
    p.add_argument("--output", required=True, metavar="ZARR")
    p.set_defaults(handler=_make_data)

    p = stage("convert", "convert .npy / .h5:dataset / .tif arrays into a {dataset}.zarr container")
    p.add_argument("--raw", required=True, metavar="FILE")
    p.add_argument("--labels", required=True, metavar="FILE")
    p.add_argument("--mask", metavar="FILE")
    p.add_argument("--classes", metavar="FILE")
    p.add_argument("--voxel-size", required=True, type=int, nargs=3, metavar="N", help="world units (z y x)")
    p.add_argument("--offset", type=int, nargs=3, default=[0, 0, 0], metavar="N", help="world units (z y x)")
    p.add_argument("--units", default="nm")
    p.add_argument("--output", required=True, metavar="ZARR")
    p.set_defaults(handler=_convert)

    p = stage("configs", "store the run's sub-configs and write runs/{run}/run.yaml")
    p.add_argument("--run-json", metavar="JSON", help="the resolved run document (what the workflow passes)")
    p.add_argument("--section", metavar="YAML", help="a config file with a complete segment: section")
    p.add_argument("--run", help="run id {name}__{repetition} (with --section)")
    p.add_argument("--root", required=True, metavar="DIR", help="results/segment")
    p.set_defaults(handler=_configs)

    p = stage("train", "train (or resume) one run; validate at its validation points")
    run_dir(p)
    p.add_argument("--validation-mode", choices=["in_job", "jobs"], default="in_job")
    p.add_argument("--store-arrays", action="store_true", help="write validation predictions and outputs")
    p.add_argument("--batch", type=int, default=1, metavar="N", help="eval tiles per forward pass")
    p.add_argument("--stop-after", type=int, metavar="N", help="stop once checkpoint N is written")
    p.add_argument("--store", metavar="URL", help="record the run in this metastore")
    p.set_defaults(handler=_train)

    p = stage("validate", "scores of one checkpoint on one validation dataset (validation.mode: jobs)")
    run_dir(p)
    p.add_argument("--iteration", required=True, type=int)
    p.add_argument("--dataset", required=True)
    p.add_argument("--output", required=True, metavar="JSON")
    p.set_defaults(handler=_validate)

    p = stage("gather-scores", "assemble validate outputs into validation_scores.json")
    run_dir(p)
    p.add_argument("--inputs", nargs="+", required=True, metavar="JSON")
    p.add_argument("--output", required=True, metavar="JSON")
    p.set_defaults(handler=_gather)

    p = stage("select-best", "best (iteration, parameter) of a run → best/{criterion}.json")
    run_dir(p)
    p.add_argument("--criterion", help="default: affinities voi, distance {channel}__dice, one_hot mean_dice")
    p.add_argument("--output", metavar="JSON", help="default runs/{run}/best/{criterion}.json")
    p.set_defaults(handler=_select_best)

    p = stage("plan-blocks", "tile a volume's output ROI into blocks with context → blocks.json")
    run_dir(p)
    p.add_argument("--raw", required=True, metavar="ZARR_ARRAY", help="data/{volume}.zarr/raw")
    p.add_argument("--block-shape", required=True, type=int, nargs=3, metavar="N", help="output voxels")
    p.add_argument("--roi-offset", type=int, nargs=3, metavar="N", help="requested ROI, world units")
    p.add_argument("--roi-shape", type=int, nargs=3, metavar="N", help="requested ROI, world units")
    p.add_argument("--output", required=True, metavar="JSON")
    p.set_defaults(handler=_plan_blocks)

    p = stage("predict-block", "predict one block → blocks/{k:05d}.npz")
    run_dir(p)
    p.add_argument("--blocks", required=True, metavar="JSON")
    p.add_argument("--index", required=True, type=int)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--best", metavar="JSON", help="best/{criterion}.json naming the checkpoint")
    group.add_argument("--checkpoint", metavar="PT")
    p.add_argument("--batch", type=int, default=1, metavar="N")
    p.add_argument("--output", required=True, metavar="NPZ")
    p.set_defaults(handler=_predict_block)

    p = stage("stitch", "assemble the blocks into prediction.zarr (each voxel written once)")
    run_dir(p)
    p.add_argument("--blocks", required=True, metavar="JSON")
    p.add_argument("--block-files", nargs="+", required=True, metavar="NPZ")
    p.add_argument("--best", metavar="JSON", help="records the iteration in the attributes")
    p.add_argument("--dtype", choices=["float32", "uint8"], default="float32")
    p.add_argument("--output", required=True, metavar="ZARR")
    p.set_defaults(handler=_stitch)

    p = stage("postprocess", "post-process prediction.zarr with the best parameter → segmentation.zarr")
    run_dir(p)
    p.add_argument("--prediction", required=True, metavar="ZARR")
    p.add_argument("--best", metavar="JSON")
    p.add_argument(
        "--parameter", help="a parameter key (bias_0.50, threshold_0.00, argmax); overrides --best"
    )
    p.add_argument("--output", required=True, metavar="ZARR")
    p.set_defaults(handler=_postprocess)

    p = stage(
        "evaluate", "every task criterion of segmentation.zarr against a dataset's labels → scores.json"
    )
    run_dir(p)
    p.add_argument("--segmentation", required=True, metavar="ZARR")
    p.add_argument("--dataset", required=True, metavar="ZARR", help="data/{volume}.zarr")
    p.add_argument("--output", required=True, metavar="JSON")
    p.set_defaults(handler=_evaluate)

    p = stage("apply", "predict a volume with the best (or a given) checkpoint and parameter, in one process")
    run_dir(p)
    p.add_argument("--raw", required=True, metavar="ZARR_ARRAY")
    p.add_argument("--best", metavar="JSON")
    p.add_argument("--iteration", type=int, help="overrides the best iteration")
    p.add_argument("--parameter", help="overrides the best parameter")
    p.add_argument("--block-shape", type=int, nargs=3, metavar="N")
    p.add_argument("--batch", type=int, default=1, metavar="N")
    p.add_argument("--output-dir", required=True, metavar="DIR")
    p.set_defaults(handler=_apply)

    p = stage("plot", "loss, scores and orthogonal slices of one run")
    run_dir(p)
    p.add_argument("--best", required=True, metavar="JSON")
    p.add_argument("--volume", action="append", default=[], metavar="NAME=DATASET_ZARR,PREDICT_DIR")
    p.add_argument("--output-dir", required=True, metavar="DIR")
    p.set_defaults(handler=_plot)

    p = stage("summary", "best score per run (one point per repetition and the mean)")
    p.add_argument("--best", nargs="+", required=True, metavar="JSON")
    p.add_argument("--output", required=True, metavar="PNG")
    p.set_defaults(handler=_summary)
