"""``snakelab batchie reveal``: the step's screen with the selected plate observed (spec §6)."""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.data import Screen
from snakelab.batchie.reveal import reveal
from snakelab.batchie.selected_plate import read_selected_plate

log = logging.getLogger("snakelab.batchie.reveal")


def main(args: argparse.Namespace) -> None:
    plate_id = args.plate_id if args.selected is None else read_selected_plate(args.selected)
    screen = reveal(Screen.load_h5(args.screen), plate_id)
    screen.save_h5(args.output)
    log.info(
        "revealed plate %d: %d of %d plates observed -> %s",
        plate_id,
        screen.n_observed_plates,
        screen.n_plates,
        args.output,
    )
