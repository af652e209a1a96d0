"""``snakelab imnn tfrecords``: one set's simulations (chunks or external .npy) as TFRecords shards
with a manifest (spec §7), written into a temporary directory that replaces ``tfrecords/{set}/``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from snakelab.core import atomic
from snakelab.imnn import config, tfrecords

log = logging.getLogger("snakelab.imnn.tfrecords")


def main(args: argparse.Namespace) -> None:
    from snakelab.imnn.stages.fit import load_set

    section = config.load(args.config)
    shape = config.input_shape(section)
    prefix = "validation_" if args.set.startswith("validation_") else ""
    kind_of = args.set.removeprefix(prefix)
    arrays = load_set(section, prefix, shape, Path(args.sims_dir) if args.sims_dir else None, (kind_of,))
    data = arrays[kind_of]
    if kind_of == "fiducial":
        kind, n_params = "fiducial", None
    else:
        kind = "numerical_derivative" if section["mode"] == "numerical" else "derivative"
        n_params = len(section["theta_fid"])
    with atomic.atomic_directory(args.output_dir) as tmp:
        entry = tfrecords.write_records(tmp, args.set, kind, data, n_params, section["record_size"])
    log.info("wrote %s: %d shards of %d simulations", args.output_dir, len(entry["shards"]), entry["n_sims"])
