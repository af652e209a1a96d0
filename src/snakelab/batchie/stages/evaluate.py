"""``snakelab batchie evaluate``: predictions of every theta on the evaluation screen (spec §2.4)."""

from __future__ import annotations

import argparse
import logging

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.models.evaluation import ModelEvaluation
from snakelab.batchie.models.sparse_combo import viability
from snakelab.batchie.stages.common import load_chains
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.batchie.evaluate")


def evaluate(
    screen: Screen, stacked, chains: np.ndarray, observed_only: bool, block_mb: float
) -> ModelEvaluation:
    """ModelEvaluation of all rows of ``screen`` (or its observed rows)."""
    rows = screen.observation_mask if observed_only else np.ones(screen.size, dtype=bool)
    if not rows.any():
        raise InputError(None, "--screen", "expected at least one row to evaluate, found none")
    predictions = viability(stacked, screen.sample_ids[rows], screen.treatment_ids[rows], block_mb)
    return ModelEvaluation(predictions.T, screen.observations[rows], chains, screen.sample_names[rows])


def main(args: argparse.Namespace) -> None:
    stacked, chains = load_chains(args.thetas)
    evaluation = evaluate(
        Screen.load_h5(args.screen), stacked, chains, args.observed_only, args.predict_block_mb
    )
    evaluation.save_h5(args.output)
    log.info(
        "%d experiments x %d thetas: mse %.4f -> %s",
        evaluation.n_experiments,
        evaluation.n_thetas,
        evaluation.mse(),
        args.output,
    )
