"""``snakelab batchie export-batch``: the batch a prospective round designed, as tables for the lab (§3.6).

``--selected`` gives the ``selected_plate`` file of each step of the round in step order; ``--scores``
the score chunks of every step, step after step, the same number per step (the step's chunks are
joined to look up the score of the plate it selected).
"""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.data import Screen
from snakelab.batchie.prospective import export_batch
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.batchie.selected_plate import read_selected_plate
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.batchie.export_batch")


def step_chunks(scores: list[str], n_steps: int) -> list[list[str]]:
    """``scores`` split into ``n_steps`` equal consecutive groups (the chunk files of each step)."""
    if n_steps == 0:
        if scores:
            raise InputError(None, "--scores", f"expected no score files without steps, found {len(scores)}")
        return []
    if not scores or len(scores) % n_steps:
        raise InputError(
            None,
            "--scores",
            f"expected the same number (>= 1) of score chunks for each of the {n_steps} steps, "
            f"found {len(scores)} files",
        )
    per_step = len(scores) // n_steps
    return [scores[j * per_step : (j + 1) * per_step] for j in range(n_steps)]


def main(args: argparse.Namespace) -> None:
    screen = Screen.load_h5(args.screen)
    selected = [read_selected_plate(p) for p in args.selected]
    holders = [
        ChunkedScoresHolder.concat([ChunkedScoresHolder.load_h5(p) for p in group])
        for group in step_chunks(args.scores, len(selected))
    ]
    batch, experiments = export_batch(screen, selected, holders, args.output_dir)
    log.info(
        "batch of %d plates %s -> %s, %s",
        sum(p >= 0 for p in selected),
        [p for p in selected if p >= 0],
        batch,
        experiments,
    )
