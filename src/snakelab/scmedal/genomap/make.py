"""The genomap stage: multibatch matrix → gene distance → GW coupling → hard assignment → files (spec §10).

Files in ``<gname>/`` (the directory is replaced atomically as a whole):

* ``genomap_<gname>.npy`` float32 [rows, R, C, 1]: each row's z-scored genes on their pixels (empty pixels 0);
* ``T_input_<gname>.npy`` float32 [G, R·C]: the hard coupling × 1/G;
* ``gene_coordinates_<gname>.csv``: gene, row, col, pixel (column-major index), ring (0 = innermost used);
* ``<gname>.png`` (the first 50 rows); ``gw_log.json``; per plotted cell the top-10 SD csv and three pngs.

The cache (``cache_dir``) holds C1 per matrix content (``c1_<sha>.npy``) and the assignment per
(C1, grid, solver settings) (``assign_<sha>.npz``), so a rerun or a replot skips the expensive steps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_directory, atomic_path
from snakelab.core.errors import InputError
from snakelab.scmedal.genomap.assign import hard_assignment
from snakelab.scmedal.genomap.distance import first_pc_loadings, gene_distance
from snakelab.scmedal.genomap.grid import Grid, make_grid
from snakelab.scmedal.genomap.gw import SOLVERS, gw_kl, placement_quality
from snakelab.scmedal.genomap.multibatch import read_multibatch
from snakelab.scmedal.genomap.plots import cell_figures, plot_first_rows

log = logging.getLogger("snakelab.scmedal.genomap")

CACHE_FORMAT = "snakelab.scmedal.genomap.cache/1"


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _cached_c1(x: np.ndarray, genes: Sequence[str], cache_dir: Path | None) -> tuple[np.ndarray, str, bool]:
    key = _sha(CACHE_FORMAT.encode(), np.ascontiguousarray(x).tobytes(), "\0".join(genes).encode())
    path = None if cache_dir is None else cache_dir / f"c1_{key[:24]}.npy"
    if path is not None and path.is_file():
        return np.load(path), key, True
    c1 = gene_distance(x)
    if path is not None:
        with atomic_path(path) as tmp:
            np.save(tmp, c1)
    return c1, key, False


def genomap_images(matrix: np.ndarray, pixel_of_gene: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Place each row's genes [rows, G] on their pixels: float32 [rows, R, C, 1], empty pixels 0."""
    n_rows, n_cols = shape
    flat = np.zeros((matrix.shape[0], n_rows * n_cols), dtype=np.float32)
    flat[:, pixel_of_gene] = matrix
    return np.ascontiguousarray(flat.reshape(-1, n_cols, n_rows).transpose(0, 2, 1)[..., None])


def gene_coordinates(genes: Sequence[str], pixel_of_gene: np.ndarray, grid: Grid) -> pd.DataFrame:
    """Gene, row, col, pixel, ring of each placed gene, in gene order."""
    p = np.asarray(pixel_of_gene)
    return pd.DataFrame(
        {"gene": list(genes), "row": grid.rows[p], "col": grid.cols[p], "pixel": p, "ring": grid.ring[p]}
    )


def make_genomap(
    matrix_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    gname: str,
    grid: tuple[int, int] = (54, 54),
    solver: str = "sinkhorn",
    epsilon: float = 0.03,
    num_iter: int = 100,
    tol: float = 1e-9,
    forced_batches: Sequence[str] | None = None,
    celltypes: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    plots: bool = True,
    epsilon_start: float | None = 1.0,
) -> dict[str, Any]:
    """Build the genomap of ``CMmultibatch_<gname>/`` (``matrix_dir``) into ``out_dir`` (``<gname>/``).

    Parameters
    ----------
    grid:
        (R, C). With G genes, G < R·C uses the first G pixels (column-major); G > R·C the first R·C genes.
    solver, epsilon, num_iter, tol:
        ``emd`` (faithful, POT) or ``sinkhorn`` (entropic, regulariser ``epsilon`` in units of the GW loss,
        annealed from ``epsilon_start`` over the first half of the iterations, see
        :func:`~snakelab.scmedal.genomap.gw.gw_kl`); at most ``num_iter`` GW iterations; stop when the
        coupling changes by ≤ ``tol`` (Frobenius).
    forced_batches:
        Batches whose first cell (in the input block) gets the per-cell figures; None = every cf batch.
    celltypes:
        The map's cell types (file-name label of the per-cell figures; None → ``allcelltypes``).
    cache_dir:
        Where C1 and assignments are cached by content hash (None: no cache).
    plots:
        Write the pngs and the per-cell top-10 csvs.

    Returns a dict: ``out_dir``, ``genomap`` (path), ``J``, ``iterations``, ``seconds`` (c1, gw, assign,
    total), ``n_genes``, ``n_rings``, ``cache_hit`` (c1, assignment).
    """
    if solver not in SOLVERS:
        raise InputError(None, "genomap.solver", f"one of {list(SOLVERS)}, found {solver!r}")
    if len(grid) != 2 or min(grid) < 1:
        raise InputError(None, "genomap.grid", f"[rows, cols] of positive integers, found {list(grid)}")
    total_start = time.perf_counter()
    matrix, genes, meta = read_multibatch(matrix_dir)
    shape = (int(grid[0]), int(grid[1]))
    g = min(len(genes), shape[0] * shape[1])
    if g < len(genes):
        log.info("genomap: %d genes on %d pixels; using the first %d genes", len(genes), g, g)
    genes, x = genes[:g], matrix[:, :g]
    cache = None if cache_dir is None else Path(cache_dir)
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    c1, c1_key, c1_hit = _cached_c1(x, genes, cache)
    seconds["c1"] = time.perf_counter() - start
    geo = make_grid(shape, g)
    settings = {"grid": list(shape), "solver": solver, "num_iter": num_iter, "tol": tol}
    if solver == "sinkhorn":
        settings["epsilon"] = epsilon
        settings["epsilon_start"] = epsilon_start
    a_key = _sha(c1_key.encode(), json.dumps(settings, sort_keys=True).encode())
    a_path = None if cache is None else cache / f"assign_{a_key[:24]}.npz"
    if a_path is not None and a_path.is_file():
        with np.load(a_path) as z:
            pixel, err, inner = z["pixel"], z["err"].tolist(), z["inner"].tolist()
            iterations, gw_seconds = int(z["iterations"]), float(z["gw_seconds"])
        a_hit = True
        seconds["gw"] = seconds["assign"] = 0.0
    else:
        a_hit = False
        res = gw_kl(c1, geo, solver, epsilon, num_iter, tol, epsilon_start=epsilon_start)
        seconds["gw"] = gw_seconds = res.seconds
        start = time.perf_counter()
        loadings = first_pc_loadings(c1) if solver == "sinkhorn" else None
        pixel = hard_assignment(res.coupling, geo, solver == "sinkhorn", loadings)
        seconds["assign"] = time.perf_counter() - start
        err, inner, iterations = res.err, res.inner_iterations, res.iterations
        if a_path is not None:
            with atomic_path(a_path) as tmp:
                np.savez(tmp, pixel=pixel, err=np.asarray(err), inner=np.asarray(inner, dtype=np.int64),
                         iterations=iterations, gw_seconds=gw_seconds)  # fmt: skip
    quality = placement_quality(c1, pixel, geo)
    images = genomap_images(x, pixel, shape)
    coupling = np.zeros((g, shape[0] * shape[1]), dtype=np.float32)
    coupling[np.arange(g), pixel] = 1.0 / g
    coords = gene_coordinates(genes, pixel, geo)
    mask = np.ones(shape, dtype=bool)
    mask[geo.rows, geo.cols] = False

    with atomic_directory(out_dir) as tmp:
        np.save(tmp / f"genomap_{gname}.npy", images)
        np.save(tmp / f"T_input_{gname}.npy", coupling)
        coords.to_csv(tmp / f"gene_coordinates_{gname}.csv", index=False)
        if plots:
            plot_first_rows(images, mask, meta, tmp / f"{gname}.png")
            label = "_".join(str(c) for c in celltypes) if celltypes else "allcelltypes"
            inputs = meta[meta.block == "input"]
            batches = (
                list(forced_batches)
                if forced_batches is not None
                else list(dict.fromkeys(meta.cf_batch[meta.block == "cf"]))
            )
            for b in batches:
                cells = inputs.obs_name[inputs.batch == str(b)]
                if len(cells):
                    cell_figures(images, meta, coords, mask, cells.iloc[0], batches, label, tmp)
        seconds["total"] = time.perf_counter() - total_start
        record = {
            "solver": solver,
            "epsilon": epsilon if solver == "sinkhorn" else None,
            "epsilon_start": epsilon_start if solver == "sinkhorn" else None,
            "grid": list(shape),
            "n_genes": g,
            "n_rows": int(x.shape[0]),
            "n_rings": geo.n_rings,
            "num_iter": num_iter,
            "tol": tol,
            "iterations": iterations,
            "err": err,
            "inner_iterations": int(np.sum(inner)),
            "J": quality,
            "seconds": seconds,
            "gw_seconds_computed": gw_seconds,
            "cache_hit": {"c1": c1_hit, "assignment": a_hit},
        }
        (tmp / "gw_log.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info(
        "genomap %s: %s, %d iterations, J %.5f, %.1f s", gname, solver, iterations, quality, seconds["total"]
    )
    out = Path(out_dir)
    return {
        "out_dir": out,
        "genomap": out / f"genomap_{gname}.npy",
        "J": quality,
        "iterations": iterations,
        "seconds": seconds,
        "n_genes": g,
        "n_rings": geo.n_rings,
        "cache_hit": {"c1": c1_hit, "assignment": a_hit},
    }


def read_genomap(genomap_dir: str | os.PathLike[str], gname: str) -> tuple[np.ndarray, pd.DataFrame]:
    """(genomaps float32 [rows, R, C, 1], gene coordinates) of a ``<gname>/`` directory."""
    d = Path(genomap_dir)
    paths = [d / f"genomap_{gname}.npy", d / f"gene_coordinates_{gname}.csv"]
    for p in paths:
        if not p.is_file():
            raise InputError(p, "file", "present (written by the genomap stage)")
    return np.load(paths[0]), pd.read_csv(paths[1], keep_default_na=False)
