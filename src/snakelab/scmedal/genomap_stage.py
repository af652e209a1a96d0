"""Stages ``genomap`` and ``genomap-stats`` (spec §10): wiring of :mod:`snakelab.scmedal.genomap`.

A map's rows are [scaled input; scmedalfe reconstruction; RE counterfactual into each batch] of the
map's cells (the counterfactual stage's ``cf_<split>_<subset_id>.npz`` of the same selection).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path, write_text
from snakelab.core.errors import InputError
from snakelab.scmedal.counterfactuals import subset_id
from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.genomap")


def map_item(cfg: Mapping[str, Any], index: int) -> dict[str, Any]:
    maps = cfg["genomap"]["maps"]
    if not 0 <= index < len(maps):
        raise InputError(None, "--map", f"expected 0..{len(maps) - 1} (genomap.maps)")
    return dict(maps[index])


def check_grid(n_genes: int, grid: tuple[int, int], source: str) -> None:
    """Genes fill the grid column-major; a grid whose last column would stay empty (G ≤ (C − 1)·R) is
    too large for the genes (the demo's 765 genes fill 28 × 28 up to its last column)."""
    rows, cols = grid
    if n_genes <= (cols - 1) * rows:
        raise InputError(
            source,
            "genomap.grid",
            f"expected at least {(cols - 1) * rows + 1} genes for a {rows} x {cols} grid (found {n_genes}); "
            f"use at most {max(1, -(-n_genes // rows))} columns",
        )


def sentinel(tree: Tree, index: int) -> str:
    return f"{tree.analysis()}/genomap_runs/map_{index}.json"


def run_genomap(cfg: Mapping[str, Any], tree: Tree, dataset: str, index: int) -> None:
    """Multibatch matrix, genomap files and figures of ``genomap.maps[index]``; a sentinel JSON and a
    report copy of the first-rows figure under ``genomap_runs/``."""
    import anndata as ad
    import pandas as pd

    from snakelab.scmedal.data import load_fold
    from snakelab.scmedal.genomap.make import make_genomap
    from snakelab.scmedal.genomap.multibatch import build_multibatch, write_multibatch
    from snakelab.scmedal.genomap.sampling import gname as genomap_name
    from snakelab.scmedal.stages import counterfactual_subset

    item = map_item(cfg, index)
    fold, split = int(item["fold"]), item["split"]
    gm = cfg["genomap"]
    grid = (int(gm["grid"][0]), int(gm["grid"][1]))
    backed = ad.read_h5ad(tree.adata(), backed="r")
    n_genes = backed.n_vars
    backed.file.close()
    check_grid(n_genes, grid, tree.adata())
    spec = counterfactual_subset(cfg, fold, None, index)
    cf_path = tree.counterfactuals(fold, split, subset_id(spec))
    if not Path(cf_path).is_file():
        raise InputError(
            cf_path, "counterfactuals", "expected the map's counterfactuals (counterfactuals stage)"
        )
    cf = np.load(cf_path)
    data = load_fold(
        tree.adata(),
        tree.splits(),
        fold,
        cfg["faithful"]["scaling_per_split"],
        cfg["training"]["max_dense_gb"],
    )
    position = {int(r): i for i, r in enumerate(data.index[split])}
    rows = np.array([position[int(r)] for r in cf["obs_index"]], dtype=np.int64)
    fe_recon = np.load(tree.recon("scmedalfe", fold, split))[rows]
    obs = pd.DataFrame({"obs_name": cf["obs_names"], "batch": cf["source_batch"], "celltype": cf["celltype"]})
    matrix, meta = build_multibatch(
        data.rows(split, rows), fe_recon, cf["recon"], obs, [str(b) for b in cf["target_batches"]]
    )
    name = genomap_name(int(item["n_cells"]), len(cf["target_batches"]), split, fold, item.get("celltypes"))
    write_multibatch(tree.multibatch_dir(name), matrix, [str(g) for g in cf["genes"]], meta)
    result = make_genomap(
        tree.multibatch_dir(name),
        tree.genomap_dir(name),
        name,
        grid=grid,
        solver=gm["solver"],
        epsilon=float(gm["epsilon"]),
        num_iter=int(gm["num_iter"]),
        tol=float(gm["tol"]),
        forced_batches=item.get("forced_batches"),
        celltypes=item.get("celltypes"),
        cache_dir=f"{tree.root}/cache/genomap",
    )
    figure = Path(tree.genomap_dir(name)) / f"{name}.png"
    with atomic_path(sentinel(tree, index).replace(".json", ".png")) as tmp:
        shutil.copyfile(figure, tmp)
    doc = {"gname": name, "map": item, "result": result}
    write_text(sentinel(tree, index), json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def run_genomap_stats(cfg: Mapping[str, Any], tree: Tree, dataset: str) -> None:
    """Per-pixel tests of ``genomap.stats`` on the first map → ``<dataset>_pvals_<mwu|me>.csv``."""
    import anndata as ad

    from snakelab.scmedal.genomap.stats import genomap_stats

    stats = cfg["genomap"]["stats"]
    if not stats:
        raise InputError(None, "genomap.stats", "expected {group_col, groups, test} to run genomap-stats")
    doc = json.loads(Path(sentinel(tree, 0)).read_text(encoding="utf-8"))
    adata = ad.read_h5ad(tree.adata(), backed="r")
    obs = adata.obs.copy()
    adata.file.close()
    col = stats["group_col"]
    if col not in obs.columns:
        raise InputError(
            tree.adata(), f"obs[{col!r}]", "expected the genomap.stats.group_col column (add it to targets)"
        )
    batch_groups = obs.groupby(obs["batch"].astype(str), observed=True)[col].agg(
        lambda v: str(v.astype(str).mode().iloc[0])
    )
    test = stats.get("test", "mwu")
    genomap_stats(
        tree.genomap_dir(doc["gname"]),
        tree.multibatch_dir(doc["gname"]),
        doc["gname"],
        batch_groups.to_dict(),
        stats["groups"],
        test,
        tree.genomap_stats(test),
    )
