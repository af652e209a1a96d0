"""Distance and PDBAL scoring kernels against BATCHIE's measured figures (spec batchie §12).

- distance: ``MSEDistance().compute_chunk`` on a 9,011-row screen (20 samples, 60 drug-doses) with 100
  thetas (D = 5): prediction + all 4,950 pairs in one chunk. Reference 26.5 s; target ≤ 0.53 s.
- PDBAL: 99 plates × 91 experiments × 100 thetas, 5,000 of the C(100, 3) = 161,700 triples, one chunk
  (triple draw + scores; random μ and per-theta variances). Reference 26.7 s; target ≤ 0.89 s.

Times are the median (and minimum) of ``--repeats`` runs; ratio = reference / median.
Run: .venv/bin/python benchmarks/batchie_scoring.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.distance import MSEDistance
from snakelab.batchie.models.sparse_combo import StackedThetas
from snakelab.batchie.scoring.pdbal import GaussianDBALScorer
from snakelab.core.seeds import rng as seeded_rng

K, C, M, D_EMB = 100, 20, 60, 5
N_DISTANCE = 9_011
N_PLATES, PLATE_SIZE = 99, 91


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, minimum) wall seconds of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def distance_case(rng: np.random.Generator) -> Callable[[], object]:
    thetas = StackedThetas(
        W=rng.normal(scale=0.5, size=(K, C, D_EMB)),
        W0=rng.normal(scale=0.5, size=(K, C)),
        V0=rng.normal(scale=0.5, size=(K, M)),
        V1=rng.normal(scale=0.5, size=(K, M, D_EMB)),
        V2=rng.normal(scale=0.5, size=(K, M, D_EMB)),
        alpha=rng.normal(size=K),
        precision=rng.uniform(10, 50, size=K),
    )
    drugs = np.array([f"drug_{m:02d}" for m in range(M)])
    names = drugs[rng.integers(0, M, size=(N_DISTANCE, 2))]
    samples = np.array([f"sample_{c:02d}" for c in range(C)])[np.arange(N_DISTANCE) % C]
    plates = np.array([f"plate_{p:03d}" for p in range(100)])[np.arange(N_DISTANCE) % 100]
    universe = {(str(d), 1.0): m for m, d in enumerate(drugs)}
    screen = Screen(names, np.ones(names.shape), samples, plates, treatment_mapping=universe)
    metric = MSEDistance()

    def run() -> object:
        return metric.compute_chunk(thetas, screen, 1, 0)

    return run


def pdbal_case(rng: np.random.Generator) -> Callable[[], object]:
    n = N_PLATES * PLATE_SIZE
    mu = rng.normal(scale=1.5, size=(K, n))
    v = 1.0 / rng.uniform(10, 50, size=K)
    plates = list(np.arange(n).reshape(N_PLATES, PLATE_SIZE))
    X = rng.uniform(size=(K, 8))
    D = ((X[:, None, :] - X[None, :, :]) ** 2).mean(axis=2)
    scorer = GaussianDBALScorer(max_triples=5000)

    def run() -> object:
        triples = scorer.triples(K, seed=0, rep=0, iteration=0)
        return scorer.score_arrays(mu, v, plates, D, triples)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = seeded_rng(0, 99)
    rows = [
        ("distance, 100 thetas x 9,011 exps, 1 chunk", 26.5, 0.53, distance_case(rng)),
        ("PDBAL, 99 plates x 91 exps x 100 thetas, 5,000 triples", 26.7, 0.89, pdbal_case(rng)),
    ]
    print(f"cpu cores: {os.cpu_count()}, repeats: {args.repeats} (median)")
    print(f"{'figure':<58}{'reference s':>12}{'ours s':>10}{'min s':>9}{'ratio':>8}{'target s':>10}  result")
    for name, reference, target, fn in rows:
        ours, best = timed(fn, args.repeats)
        verdict = "PASS" if ours <= target else "FAIL"
        times = f"{reference:>12.2f}{ours:>10.4f}{best:>9.4f}{reference / ours:>7.0f}x{target:>10.2f}"
        print(f"{name:<58}{times}  {verdict}")


if __name__ == "__main__":
    main()
