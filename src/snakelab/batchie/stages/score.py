"""``snakelab batchie score``: scores of one chunk of the candidate plates at a step (spec §6)."""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.commands import class_spec
from snakelab.batchie.data import Screen
from snakelab.batchie.distance_calculation import ChunkedDistanceMatrix
from snakelab.batchie.registry import build
from snakelab.batchie.scoring.batch import score_chunk
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.batchie.scoring.registry import SCORERS
from snakelab.batchie.selected_plate import batch_plate_ids
from snakelab.batchie.stages.common import check_chunk, load_chains
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.batchie.score")


def main(args: argparse.Namespace) -> None:
    name, params = class_spec(args, "scorer")
    scorer = build(SCORERS, "scorer", name, params)
    check_chunk(args.n_chunks, args.chunk_index)
    screen = Screen.load_h5(args.data)
    batch = batch_plate_ids(args.batch_plate_ids, args.batch_selected)
    context = {
        "seed": args.seed,
        "rep": args.rep,
        "iteration": args.iter,
        "plate": args.plate,
        "block_mb": args.predict_block_mb,
    }
    if scorer.requires_model:
        stacked, _ = load_chains(args.thetas)
        matrix = ChunkedDistanceMatrix.concat([ChunkedDistanceMatrix.load(p) for p in args.distance_matrix])
        if matrix.size != stacked.n_thetas:
            raise InputError(
                args.distance_matrix[0], "size", f"expected {stacked.n_thetas} thetas, found {matrix.size}"
            )
        context.update(stacked=stacked, distance=matrix.to_dense())
    ids, scores = score_chunk(screen, scorer, batch, args.n_chunks, args.chunk_index, **context)
    ChunkedScoresHolder.from_arrays(ids, scores).save_h5(args.output)
    log.info("%s scored %d plates (batch %s) -> %s", name, ids.size, batch, args.output)
