"""Input contract and preprocessing of one dataset (spec §2): ``.h5ad`` in, ``adata.h5ad`` out.

filter_cells(min_genes) → filter_genes(min_cells) → (counts, log2norm) normalize_total + log1p →
highly_variable_genes(flavor, n_top_genes, subset=True). ``obs`` keeps ``batch`` and ``celltype``
(renamed from the configured keys, categorical, categories sorted) and the target columns.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path, write_text
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.scmedal.preprocess")


def read_input(path: str | Path, spec: Mapping[str, Any]) -> Any:
    """Read the input ``.h5ad`` and return an AnnData whose ``X`` is the configured matrix (float32),
    as counts-or-log values per ``x_kind`` (``log2norm`` → 2^x − 1), after the input checks."""
    import anndata as ad
    import scipy.sparse as sp

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "input", "expected an existing .h5ad file")
    try:
        adata = ad.read_h5ad(path)
    except Exception as exc:
        raise InputError(path, "input", f"expected an AnnData .h5ad file ({type(exc).__name__})") from None
    source = spec.get("x", "X")
    if source == "X":
        x, var_names = adata.X, adata.var_names
    elif source == "raw":
        if adata.raw is None:
            raise InputError(path, "raw", "expected a .raw matrix (x: raw)")
        x, var_names = adata.raw.X, adata.raw.var_names
    elif str(source).startswith("layer:"):
        name = str(source)[len("layer:") :]
        if name not in adata.layers:
            raise InputError(path, f"layers[{name!r}]", f"expected a layer named {name!r} (x: {source})")
        x, var_names = adata.layers[name], adata.var_names
    else:
        raise InputError(path, "x", f"expected X, raw or layer:<name>, found {source!r}")
    x = x.astype(np.float32) if sp.issparse(x) else np.asarray(x, dtype=np.float32)
    values = x.data if sp.issparse(x) else x
    if not np.all(np.isfinite(values)):
        raise InputError(path, f"{source} values", "expected finite numbers, found NaN or inf")
    if spec.get("x_kind") == "log2norm":
        if sp.issparse(x):
            x = x.copy()
            x.data = np.exp2(x.data) - 1.0
        else:
            x = np.exp2(x) - 1.0
    out = ad.AnnData(X=sp.csr_matrix(x) if sp.issparse(x) else x, obs=adata.obs.copy())
    out.var_names = np.asarray(var_names).astype(str)
    out.obs_names = np.asarray(adata.obs_names).astype(str)
    if not out.obs_names.is_unique:
        raise InputError(path, "obs_names", "expected unique cell names")
    if not out.var_names.is_unique:
        raise InputError(path, "var_names", "expected unique gene names")
    for role in ("batch_key", "celltype_key"):
        key = spec[role]
        if key not in out.obs.columns:
            raise InputError(path, f"obs[{key!r}]", f"expected the {role} column {key!r} in obs")
    for target in spec.get("targets") or []:
        if target not in out.obs.columns and target not in (spec["batch_key"], spec["celltype_key"]):
            raise InputError(path, f"obs[{target!r}]", f"expected the target column {target!r} in obs")
    return out


def _label_columns(adata: Any, spec: Mapping[str, Any]) -> tuple[Any, dict[str, int]]:
    """Drop listed values and cells without batch/cell type; rename to batch/celltype (sorted categories)."""
    import pandas as pd

    counts: dict[str, int] = {}
    keep = np.ones(adata.n_obs, dtype=bool)
    for column, values in (spec.get("drop") or {}).items():
        if column not in adata.obs.columns:
            raise InputError(None, f"drop.{column}", "expected an obs column")
        hit = adata.obs[column].astype(str).isin([str(v) for v in values]).to_numpy()
        counts[f"drop_{column}"] = int((hit & keep).sum())
        keep &= ~hit
    for role in ("batch_key", "celltype_key"):
        missing = adata.obs[spec[role]].isna().to_numpy()
        counts[f"missing_{role.removesuffix('_key')}"] = int((missing & keep).sum())
        keep &= ~missing
    adata = adata[keep].copy()
    obs = adata.obs
    batch = obs[spec["batch_key"]].astype(str).to_numpy()
    celltype = obs[spec["celltype_key"]].astype(str).to_numpy()
    targets = list(dict.fromkeys(spec.get("targets") or []))
    keepcols = {
        t: obs[t].to_numpy()
        for t in targets
        if t not in ("batch", "celltype", spec["batch_key"], spec["celltype_key"])
    }
    new = pd.DataFrame(index=obs.index)
    new["batch"] = pd.Categorical(batch, categories=sorted(set(batch)))
    new["celltype"] = pd.Categorical(celltype, categories=sorted(set(celltype)))
    for t, values in keepcols.items():
        new[t] = values
    for t in targets:
        if t in (spec["batch_key"], spec["celltype_key"]) and t not in new.columns:
            new[t] = new["batch" if t == spec["batch_key"] else "celltype"].astype(str).to_numpy()
    adata.obs = new
    return adata, counts


def preprocess_adata(
    adata: Any, spec: Mapping[str, Any], params: Mapping[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The spec §2 sequence on ``adata`` (already read by :func:`read_input`); returns (adata, report)."""
    import scanpy as sc

    adata, dropped = _label_columns(adata, spec)
    report: dict[str, Any] = {"cells_in": int(adata.n_obs + sum(dropped.values())), "dropped": dropped}
    n0, g0 = adata.n_obs, adata.n_vars
    sc.pp.filter_cells(adata, min_genes=params["min_genes"])
    report["cells_removed_min_genes"] = int(n0 - adata.n_obs)
    sc.pp.filter_genes(adata, min_cells=params["min_cells"])
    report["genes_removed_min_cells"] = int(g0 - adata.n_vars)
    if spec.get("x_kind", "counts") in ("counts", "log2norm"):
        sc.pp.normalize_total(adata, target_sum=params["target_sum"])
        sc.pp.log1p(adata)
    n_top = params.get("n_top_genes")
    if n_top is None or n_top >= adata.n_vars:
        log.info("n_top_genes %s >= %d genes: keeping all genes", n_top, adata.n_vars)
        report["hvg"] = "all genes kept"
    else:
        sc.pp.highly_variable_genes(adata, flavor=params["hvg_flavor"], n_top_genes=int(n_top), subset=True)
        report["hvg"] = f"{adata.n_vars} highly variable genes"
    adata.X = adata.X.astype(np.float32)
    adata.obs = adata.obs.drop(columns=["n_genes"], errors="ignore")
    for key in ("log1p", "hvg"):
        adata.uns.pop(key, None)
    adata.var = adata.var[[]]
    report.update(
        cells_out=int(adata.n_obs),
        genes_out=int(adata.n_vars),
        parameters=dict(params),
        x_kind=spec.get("x_kind", "counts"),
        scanpy=importlib.metadata.version("scanpy"),
    )
    return adata, report


def run(
    input_path: str | Path,
    spec: Mapping[str, Any],
    params: Mapping[str, Any],
    adata_out: str,
    report_out: str,
) -> None:
    """Stage ``preprocess``: read, check, preprocess; write ``adata.h5ad`` and ``preprocess.json``."""
    adata = read_input(input_path, spec)
    adata, report = preprocess_adata(adata, spec, params)
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(input_path, "X", f"expected cells and genes after filtering, found {adata.shape}")
    with atomic_path(adata_out) as tmp:
        adata.write_h5ad(tmp)
    write_text(report_out, json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("preprocessed %s: %d cells x %d genes", input_path, adata.n_obs, adata.n_vars)
