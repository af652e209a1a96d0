"""One Gibbs sweep of SparseDrugCombo on the default synthetic screen, against BATCHIE's figures.

Screen: spec §10 defaults (20 samples, 60 drug-doses, 100 plates × 101 wells = 10,100 observed rows).
Reference (BATCHIE, spec §12, 2-core CPU): 65 ms per sweep at D = 5, 118 ms at D = 12; target ≥ 10×
(≤ 6.5 / 11.8 ms). The state is first burnt in (``--warmup`` sweeps) so the timed sweeps see a typical
state; the figure is the median over ``--repeats`` timings of ``--sweeps`` sweeps each.

Run: .venv/bin/python benchmarks/batchie_gibbs_sweep.py [--blocking colour|joint|sequential] [--sweeps N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from snakelab.batchie.models import gibbs
from snakelab.batchie.models.params import McmcParams, SparseDrugComboParams
from snakelab.batchie.synthetic import make_synthetic

REFERENCE_MS = {5: 65.0, 12: 118.0}
SPEEDUP_TARGET = 10.0


def time_sweep(screen, dims: int, blocking: str, warmup: int, sweeps: int, repeats: int) -> float:
    """Median milliseconds per sweep."""
    problem = gibbs.make_problem(
        screen, SparseDrugComboParams(n_embedding_dimensions=dims), McmcParams(blocking=blocking)
    )
    state = gibbs.init_state(problem.data, dims)
    draws = gibbs.Draws(np.random.default_rng(0))
    for _ in range(warmup):
        gibbs.sweep(state, problem, draws)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(sweeps):
            gibbs.sweep(state, problem, draws)
        timings.append((time.perf_counter() - start) / sweeps * 1e3)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocking", default="colour", choices=["colour", "joint", "sequential"])
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--sweeps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    screen, _ = make_synthetic()
    print(f"Gibbs sweep, {screen.size} observed rows, blocking {args.blocking}")
    print(f"{'D':>3} {'reference ms':>13} {'ours ms':>9} {'ratio':>7} {'target ms':>10}  result")
    for dims, reference in REFERENCE_MS.items():
        ours = time_sweep(screen, dims, args.blocking, args.warmup, args.sweeps, args.repeats)
        target = reference / SPEEDUP_TARGET
        verdict = "PASS" if ours <= target else "FAIL"
        print(
            f"{dims:>3} {reference:>13.1f} {ours:>9.2f} {reference / ours:>6.1f}x {target:>10.2f}  {verdict}"
        )


if __name__ == "__main__":
    main()
