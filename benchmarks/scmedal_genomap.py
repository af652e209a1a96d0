"""Genomap benchmark (spec scmedal §10, §14): C1 and GW coupling time, exact (emd) vs fast (sinkhorn).

``python benchmarks/scmedal_genomap.py [--sizes 20,30,54] [--emd-iter N] [--skip-emd] [--json FILE]``

Data: synthetic low-rank matrices (rank 10 + unit noise), 6,300 rows at 54 × 54 (the reference's AML map,
21 blocks × 300 cells) and 1,000 rows below. Reference figures (POT 0.9.7 exact EMD, 100 iterations,
2-core CPU): 20 × 20 17.5 s, 30 × 30 57 s, 54 × 54 1,080 s (+ 41-73 s for the sklearn correlation
matrix). Targets at 54 × 54: C1 ≤ 5 s, sinkhorn coupling ≤ 108 s with J ≤ 1.02 × J(emd).
``genomap_figures()`` returns the rows
for ``benchmarks/scmedal.py``. Timings depend on the machine's load: report the thread count with them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

REFERENCE_GW_SECONDS = {20: 17.5, 30: 57.0, 54: 1080.0}
REFERENCE_C1_SECONDS = {54: 41.0}  # sklearn pairwise correlation at 6,300 × 2,916 (41-73 s)
TARGET = {"c1_seconds": 5.0, "sinkhorn_seconds": 108.0, "j_ratio": 1.02}


def synthetic(side: int, seed: int = 0) -> np.ndarray:
    """Low-rank synthetic expression [rows, side²] float32 (rows 6,300 at side 54, else 1,000)."""
    rng = np.random.default_rng(seed)
    g, n = side * side, 6300 if side >= 54 else 1000
    return (rng.normal(size=(n, 10)) @ rng.normal(size=(10, g)) + rng.normal(size=(n, g))).astype(np.float32)


def genomap_figures(
    sizes: tuple[int, ...] = (20, 30, 54),
    solvers: tuple[str, ...] = ("emd", "sinkhorn"),
    num_iter: int = 100,
    emd_iter: int | None = None,
    epsilon: float = 0.03,
    epsilon_start: float = 1.0,
) -> list[dict]:
    """One row per (size, solver): C1, GW and assignment seconds, iterations, J, reference and ratios.

    ``emd_iter`` caps the exact solver's iterations (None = ``num_iter``); its row then says so.
    """
    from snakelab.scmedal.genomap.assign import hard_assignment
    from snakelab.scmedal.genomap.distance import first_pc_loadings, gene_distance
    from snakelab.scmedal.genomap.grid import make_grid
    from snakelab.scmedal.genomap.gw import gw_kl, import_ot, placement_quality

    import_ot()
    rows = []
    for side in sizes:
        x = synthetic(side)
        start = time.perf_counter()
        c1 = gene_distance(x)
        c1_s = time.perf_counter() - start
        grid = make_grid((side, side))
        j_emd = None
        for solver in solvers:
            iters = (emd_iter or num_iter) if solver == "emd" else num_iter
            res = gw_kl(c1, grid, solver, epsilon, iters, 1e-9, epsilon_start=epsilon_start)
            start = time.perf_counter()
            loadings = first_pc_loadings(c1) if solver == "sinkhorn" else None
            pixel = hard_assignment(res.coupling, grid, solver == "sinkhorn", loadings)
            assign_s = time.perf_counter() - start
            j = placement_quality(c1, pixel, grid)
            if solver == "emd":
                j_emd = j
            ref = REFERENCE_GW_SECONDS.get(side)
            per_iter = res.seconds / res.iterations
            rows.append(
                {
                    "grid": f"{side}x{side}",
                    "rows": int(x.shape[0]),
                    "genes": side * side,
                    "solver": solver,
                    "epsilon": None if solver == "emd" else f"{epsilon_start}->{epsilon}",
                    "c1_seconds": round(c1_s, 2),
                    "gw_seconds": round(res.seconds, 2),
                    "iterations": res.iterations,
                    "gw_seconds_per_100_iter": round(100 * per_iter, 2),
                    "assign_seconds": round(assign_s, 2),
                    "J": round(j, 5),
                    "J_over_emd": None if j_emd is None else round(j / j_emd, 4),
                    "reference_emd_seconds_100_iter": ref,
                    "speedup_vs_reference": None if ref is None else round(ref / (100 * per_iter), 2),
                    "threads": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count())),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,30,54", help="grid sides, comma-separated")
    parser.add_argument("--emd-iter", type=int, default=None, help="cap on exact-solver iterations")
    parser.add_argument("--skip-emd", action="store_true", help="only the sinkhorn solver")
    parser.add_argument("--epsilon", type=float, default=0.03)
    parser.add_argument("--json", default=None, help="write the rows to this file")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    solvers = ("sinkhorn",) if args.skip_emd else ("emd", "sinkhorn")
    rows = genomap_figures(sizes, solvers, emd_iter=args.emd_iter, epsilon=args.epsilon)
    head = ("grid", "solver", "C1 s", "GW s", "it", "s/100it", "ref s", "speedup", "J", "J/emd")
    print(" ".join(f"{h:>8}" for h in head))
    for r in rows:
        print(
            f"{r['grid']:>8} {r['solver']:>8} {r['c1_seconds']:>8} {r['gw_seconds']:>8} {r['iterations']:>8} "
            f"{r['gw_seconds_per_100_iter']:>8} {r['reference_emd_seconds_100_iter'] or '-':>8} "
            f"{r['speedup_vs_reference'] or '-':>8} {r['J']:>8} {r['J_over_emd'] or '-':>8}"
        )
    print(f"targets at 54x54: C1 <= {TARGET['c1_seconds']} s (reference sklearn 41-73 s), sinkhorn <= "
          f"{TARGET['sinkhorn_seconds']} s, J <= {TARGET['j_ratio']} x J(emd)")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
