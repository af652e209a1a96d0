"""``snakelab batchie train``: one seeded Gibbs chain of SparseDrugCombo → ``thetas_<chain>.h5`` (spec §4).

The chain's generator is ``rng(seed, rep, 1, iter, chain)`` (spec §3.5): the same seed and
coordinates give the same thetas whatever the number of chains, chunks or cores.
"""

from __future__ import annotations

import argparse
import logging

from snakelab.batchie.commands import class_spec
from snakelab.batchie.data import Screen
from snakelab.batchie.models.gibbs import sample_chain
from snakelab.batchie.models.params import McmcParams, SparseDrugComboParams
from snakelab.batchie.models.sparse_combo import StackedThetas
from snakelab.batchie.registry import build
from snakelab.batchie.thetas import ThetaHolder
from snakelab.core.progress import progress_enabled
from snakelab.core.seeds import rng

log = logging.getLogger("snakelab.batchie.train")

#: ``--model`` name → parameter class.
MODELS: dict[str, type] = {"SparseDrugCombo": SparseDrugComboParams}

#: Stage of the seed path (spec §3.5).
TRAIN_STAGE = 1


def main(args: argparse.Namespace) -> None:
    name, params = class_spec(args, "model")
    model = build(MODELS, "model", name, params)
    mcmc = McmcParams(
        n_burnin=args.n_burnin,
        n_samples=args.n_samples,
        thin=args.thin,
        blocking=args.blocking,
        joint_max_dim=args.joint_max_dim,
        backend=args.backend,
        predict_block_mb=args.predict_block_mb,
    )
    screen = Screen.load_h5(args.data)
    generator = rng(args.seed, args.rep, TRAIN_STAGE, args.iter, args.chain_index)
    log.info(
        "chain %d of %d: %d observed rows, %d burn-in + %d x %d sweeps",
        args.chain_index,
        args.n_chains,
        int(screen.observation_mask.sum()),
        mcmc.n_burnin,
        mcmc.n_samples,
        mcmc.thin,
    )
    samples = sample_chain(screen, model, mcmc, generator, progress=progress_enabled())
    ThetaHolder.from_stacked(StackedThetas(**samples)).save_h5(args.output)
    log.info("wrote %d thetas to %s", mcmc.n_samples, args.output)
