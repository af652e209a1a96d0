"""``snakelab batchie make-synthetic``: a fully observed screen simulated from a planted model (spec §10)."""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.synthetic import small_preset, write_synthetic

log = logging.getLogger("snakelab.batchie.make_synthetic")


def main(args: argparse.Namespace) -> None:
    sizes = small_preset() if args.preset == "small" else {}
    screen_path, truth_path = write_synthetic(args.output, args.truth, seed=args.seed, **sizes)
    log.info("wrote %s and %s (%s preset, seed %d)", screen_path, truth_path, args.preset, args.seed)
