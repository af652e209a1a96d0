"""``snakelab batchie distance``: one chunk of the theta distance matrix (spec §5)."""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.commands import class_spec
from snakelab.batchie.data import Screen
from snakelab.batchie.registry import build
from snakelab.batchie.scoring.registry import DISTANCE_METRICS
from snakelab.batchie.stages.common import check_chunk, load_chains

log = logging.getLogger("snakelab.batchie.distance")


def main(args: argparse.Namespace) -> None:
    name, params = class_spec(args, "distance-metric")
    metric = build(DISTANCE_METRICS, "distance-metric", name, params)
    check_chunk(args.n_chunks, args.chunk_index)
    stacked, _ = load_chains(args.thetas)
    screen = Screen.load_h5(args.data)
    chunk = metric.distance_matrix_chunk(
        stacked, screen, args.n_chunks, args.chunk_index, args.predict_block_mb
    )
    chunk.save(args.output)
    log.info(
        "%d of %d theta pairs -> %s",
        chunk.values.size,
        stacked.n_thetas * (stacked.n_thetas - 1) // 2,
        args.output,
    )
