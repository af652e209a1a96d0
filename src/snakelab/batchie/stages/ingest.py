"""``snakelab batchie ingest``: the next round's screen S_{r+1} from the lab's results table (spec §3.6)."""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.data import Screen
from snakelab.batchie.prospective import ingest

log = logging.getLogger("snakelab.batchie.ingest")


def main(args: argparse.Namespace) -> None:
    screen = Screen.load_h5(args.screen)
    ingested = ingest(screen, args.observations)
    ingested.save_h5(args.output)
    log.info(
        "ingested %d experiments of %s: %d -> %d of %d plates observed -> %s",
        int(ingested.observation_mask.sum() - screen.observation_mask.sum()),
        args.observations,
        screen.n_observed_plates,
        ingested.n_observed_plates,
        ingested.n_plates,
        args.output,
    )
