"""Argument definitions of the ``snakelab imnn <stage>`` commands (spec §12).

Imports only ``argparse``; a stage imports JAX (and TensorFlow for TFRecords) when it runs. Every stage
but ``config`` reads the resolved section ``results/imnn/{run}/config.json`` written by ``config``.

=======================  ==========================  =========================================
rule                     stage                       work (in snakelab.imnn.stages)
=======================  ==========================  =========================================
``imnn_config``          ``config``                  ``configure.main``
``imnn_simulate``        ``simulate``                ``simulate.main``
``imnn_simulate_target`` ``simulate-target``         ``simulate.main_target``
``imnn_tfrecords``       ``tfrecords``               ``records.main``
``imnn_fit``             ``fit``                     ``fit.main``
``imnn_compress``        ``compress``                ``compress.main``
``imnn_ga``              ``ga``                      ``lfi.main_ga``
``imnn_abc_chunk``       ``abc-chunk``               ``lfi.main_abc_chunk``
``imnn_abc``             ``abc``                     ``lfi.main_abc``
``imnn_pmc``             ``pmc``                     ``lfi.main_pmc``
``imnn_plot``            ``plot``                    ``plot.main``
=======================  ==========================  =========================================
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def _stage(module: str, function: str = "main") -> Callable[[argparse.Namespace], None]:
    def handler(args: argparse.Namespace) -> None:
        getattr(importlib.import_module(f"snakelab.imnn.stages.{module}"), function)(args)

    return handler


SETS = ["fiducial", "derivative", "validation_fiducial", "validation_derivative"]


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the imnn stages to ``parser`` (the ``snakelab imnn`` group)."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def stage(name: str, summary: str, module: str, function: str = "main") -> argparse.ArgumentParser:
        p = stages.add_parser(name, parents=[common], help=summary, description=summary)
        p.set_defaults(handler=_stage(module, function))
        if name != "config":
            p.add_argument("--config", required=True, metavar="JSON", help="resolved section (config stage)")
        return p

    p = stage("config", "resolve and check the imnn: section, write config.json", "configure")
    p.add_argument("--section-json", required=True, metavar="JSON", help="the imnn: section as JSON")
    p.add_argument("--source", default=None, metavar="FILE", help="config file named in errors")
    p.add_argument("--output", required=True, metavar="JSON")

    p = stage("simulate", "simulate one chunk of a fiducial or derivative set", "simulate")
    p.add_argument("--set", required=True, choices=SETS)
    p.add_argument("--chunk", required=True, type=int, metavar="C")
    p.add_argument("--output", required=True, metavar="NPZ", help="sims/{set}/chunk_{c:03d}.npz")

    p = stage("simulate-target", "simulate (or load) the target data", "simulate", "main_target")
    p.add_argument("--output", required=True, metavar="NPZ", help="sims/target.npz (data, theta)")

    p = stage("tfrecords", "write a set's chunks as TFRecords shards with a manifest", "records")
    p.add_argument("--set", required=True, choices=SETS)
    p.add_argument("--sims-dir", default=None, metavar="DIR", help="sims/ (chunks); external data: none")
    p.add_argument("--output-dir", required=True, metavar="DIR", help="tfrecords/{set}/")

    p = stage("fit", "fit the summary network; weights, statistics, history, metrics", "fit")
    p.add_argument("--sims-dir", default=None, metavar="DIR", help="sims/ (memory and aggregated storage)")
    p.add_argument("--tfrecords-dir", default=None, metavar="DIR", help="tfrecords/ (dataset storage)")
    p.add_argument("--output-dir", required=True, metavar="DIR", help="fit/")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in fit/")
    p.add_argument("--store", default=None, metavar="URL", help="record the fit in this metastore")

    p = stage("compress", "score-compressed estimates of the targets", "compress")
    p.add_argument("--fit-dir", required=True, metavar="DIR")
    p.add_argument("--target", required=True, metavar="NPZ", help="sims/target.npz")
    p.add_argument("--output", required=True, metavar="NPZ", help="compress/targets.npz")

    p = stage("ga", "Gaussian approximation of the posteriors", "lfi", "main_ga")
    p.add_argument("--statistics", required=True, metavar="NPZ")
    p.add_argument("--targets", required=True, metavar="NPZ", help="compress/targets.npz")
    p.add_argument("--output", required=True, metavar="NPZ")

    p = stage("abc-chunk", "one chunk of ABC prior draws, summaries and distances", "lfi", "main_abc_chunk")
    p.add_argument("--chunk", required=True, type=int, metavar="C")
    p.add_argument("--fit-dir", required=True, metavar="DIR")
    p.add_argument("--targets", required=True, metavar="NPZ")
    p.add_argument("--output", required=True, metavar="NPZ")

    p = stage("abc", "join the ABC chunks: accepted draws and marginals", "lfi", "main_abc")
    p.add_argument("--chunks", required=True, nargs="+", metavar="NPZ")
    p.add_argument("--output", required=True, metavar="NPZ")
    p.add_argument("--summary", required=True, metavar="JSON")

    p = stage("pmc", "ABC population Monte Carlo from the ABC draws", "lfi", "main_pmc")
    p.add_argument("--fit-dir", required=True, metavar="DIR")
    p.add_argument("--targets", required=True, metavar="NPZ")
    p.add_argument("--abc-chunks", nargs="*", default=[], metavar="NPZ")
    p.add_argument("--output", required=True, metavar="NPZ")

    p = stage("plot", "fit history and posterior corner plots", "plot")
    p.add_argument("--history", required=True, metavar="NPZ")
    p.add_argument("--metrics", required=True, metavar="JSON")
    p.add_argument("--targets", required=True, metavar="NPZ")
    p.add_argument("--ga", default=None, metavar="NPZ")
    p.add_argument("--abc", default=None, metavar="NPZ")
    p.add_argument("--pmc", default=None, metavar="NPZ")
    p.add_argument("--output-dir", required=True, metavar="DIR", help="plots/")
