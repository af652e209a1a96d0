"""``snakelab batchie select``: the next plate of the batch from all score chunks (spec §6)."""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.commands import class_spec
from snakelab.batchie.data import Screen
from snakelab.batchie.policy import POLICIES, select_step
from snakelab.batchie.registry import build
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.batchie.selected_plate import batch_plate_ids, write_selected_plate

log = logging.getLogger("snakelab.batchie.select")


def main(args: argparse.Namespace) -> None:
    name, params = class_spec(args, "policy")
    policy = None if name is None else build(POLICIES, "policy", name, params)
    screen = Screen.load_h5(args.data)
    batch = batch_plate_ids(args.batch_plate_ids, args.batch_selected)
    scores = ChunkedScoresHolder.concat([ChunkedScoresHolder.load_h5(p) for p in args.scores])
    selected = select_step(screen, scores, batch, policy, args.policy_fallback)
    write_selected_plate(args.output, selected)
    log.info("selected plate %d (batch so far %s) -> %s", selected, batch, args.output)
