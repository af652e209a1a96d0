"""Stage ``umap`` (spec §8): UMAP of one latent (a model's or an external one, or the scaled input
through PCA(50)) of a split.

umap-learn ``UMAP(n_neighbors, min_dist, n_components=2, metric="euclidean", random_state=seed)`` on
the raw 50-d latent; batches subsampled with ``RandomState(seed).choice(sorted(batches), n)``.
``faithful.umap_scanpy`` uses scanpy's neighbors + tl.umap instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path, write_text
from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.umap")


def batch_subset(batches: np.ndarray, n_batches: int | None, seed: int) -> list[str]:
    """The batches kept: all, or ``RandomState(seed).choice(sorted(batches), n, replace=False)``."""
    names = sorted(set(batches.tolist()))
    if n_batches is None or n_batches >= len(names):
        return names
    return sorted(np.random.RandomState(seed).choice(names, n_batches, replace=False).tolist())


def import_umap() -> Any:
    """``umap`` without its optional ParametricUMAP (which imports TensorFlow, Keras and torch, ~5 s
    of a UMAP job), with its Numba functions cached on disk (``cache=True``; umap-learn compiles them
    in every process otherwise, ~8 s per job). The compiled code is the same, so are the coordinates."""
    import sys
    import warnings

    if "umap" not in sys.modules:
        blocked = "tensorflow" not in sys.modules
        if blocked:
            sys.modules["tensorflow"] = None  # type: ignore[assignment]  # ImportError: ParametricUMAP skipped
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ImportWarning)
                import umap
        finally:
            if blocked:
                del sys.modules["tensorflow"]
        _cache_numba_functions("umap")
    import umap

    return umap


def _cache_numba_functions(package: str) -> None:
    """Turn on Numba's on-disk cache for the module-level jitted functions of ``package``."""
    import sys

    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(f"{package}.")):
            continue
        for value in vars(module).values():
            if (
                isinstance(value, Dispatcher)
                and "<locals>" not in value.py_func.__qualname__
                and type(value._cache).__name__ == "NullCache"
            ):
                try:
                    value.enable_caching()
                except RuntimeError:  # no writable cache location: compile in the process as before
                    log.debug("no Numba cache for %s", value.py_func.__qualname__)


def embed(x: np.ndarray, params: Mapping[str, Any], scanpy_way: bool) -> np.ndarray:
    """2-d UMAP coordinates of ``x`` [n, d]."""
    if scanpy_way:
        import anndata as ad
        import scanpy as sc

        a = ad.AnnData(np.asarray(x, dtype=np.float32))
        sc.pp.neighbors(a, n_neighbors=params["n_neighbors"], use_rep="X", random_state=params["seed"])
        sc.tl.umap(a, min_dist=params["min_dist"], random_state=params["seed"])
        return a.obsm["X_umap"]
    umap = import_umap()
    reducer = umap.UMAP(
        n_neighbors=params["n_neighbors"],
        min_dist=params["min_dist"],
        n_components=2,
        metric="euclidean",
        random_state=params["seed"],
        n_jobs=1,
    )
    return reducer.fit_transform(np.asarray(x, dtype=np.float32))


def run_umap(cfg: Mapping[str, Any], tree: Tree, model: str, split: str, fold: int) -> None:
    """Write ``umap_<latent>_<split>_split<fold>_<n>cells_<nb>batches{.csv,.png,_batch.png,_<col>.png}``."""
    from snakelab.scmedal import plots
    from snakelab.scmedal.stages import fold_obs, load_latent

    params = cfg["umap"]
    obs = fold_obs(tree, fold)[split]
    keep_batches = batch_subset(obs["batch"].astype(str).to_numpy(), params["n_batches"], params["seed"])
    rows = np.flatnonzero(obs["batch"].astype(str).isin(keep_batches).to_numpy())
    if params["max_cells"] and rows.size > params["max_cells"]:
        rows = np.sort(np.random.RandomState(params["seed"]).choice(rows, params["max_cells"], replace=False))
    if model == "X_pca":
        from sklearn.decomposition import PCA

        from snakelab.scmedal.data import load_fold

        data = load_fold(
            tree.adata(),
            tree.splits(),
            fold,
            cfg["faithful"]["scaling_per_split"],
            cfg["training"]["max_dense_gb"],
        )
        x = data.rows(split, rows)
        x = PCA(n_components=min(50, *x.shape), random_state=params["seed"]).fit_transform(x)
        latent_name = "X_pca"
    else:
        x = load_latent(tree.latent(model, fold, split), len(obs), fold, split)[rows]
        latent_name = f"{model}_latent"
    coords = embed(x, params, bool(cfg["faithful"]["umap_scanpy"]))
    nb = len(keep_batches)
    base = f"{tree.umap_dir(str(nb))}/umap_{latent_name}_{split}_split{fold}_{rows.size}cells_{nb}batches"
    table = obs.iloc[rows].copy()
    table.insert(0, "UMAP2", coords[:, 1])
    table.insert(0, "UMAP1", coords[:, 0])
    with atomic_path(f"{base}.csv") as tmp:
        table.to_csv(tmp)
    title = f"{latent_name} {split} fold {fold}"
    plots.scatter(coords, table["celltype"], title, f"{base}.png", "UMAP1", "UMAP2", "celltype")
    plots.scatter(coords, table["batch"], title, f"{base}_batch.png", "UMAP1", "UMAP2", "batch")
    files = [f"{base}.csv", f"{base}.png", f"{base}_batch.png"]
    for col in params["color_by"]:
        if col in table.columns:
            plots.scatter(coords, table[col], title, f"{base}_{col}.png", "UMAP1", "UMAP2", col)
            files.append(f"{base}_{col}.png")
    plots.panels(
        coords,
        {"celltype": table["celltype"], "batch": table["batch"]},
        title,
        tree.umap_done(model, split, fold).replace(".json", ".png"),
    )
    write_text(
        tree.umap_done(model, split, fold),
        json.dumps({"files": files, "n_cells": int(rows.size)}, indent=2) + "\n",
    )
