"""The ``scmedal`` config section (spec §13): defaults, presets, resolved loss weights, run names.

Standard library and yaml only: the Snakefile imports it at parse time. The schema
(``workflow/schemas/config.schema.yaml``, ``$defs/scmedal``) fills the same defaults when Snakemake
validates the config (tests/scmedal/test_config.py checks both agree); :func:`section` fills them for
the CLI run by hand (``--config <yaml>``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snakelab.core.config_files import deep_merge, load_yaml
from snakelab.core.config_hash import canonical_json
from snakelab.core.errors import InputError

MODELS = ("ae", "aec", "aec_batch", "scmedalfe", "scmedalfec", "scmedalre")
#: model → seed coordinate of its training job (spec §4 "Determinism").
MODEL_CODES = {"ae": 1, "aec": 2, "aec_batch": 3, "scmedalfe": 4, "scmedalfec": 5, "scmedalre": 6}
SPLITS = ("train", "val", "test")
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
#: names an external latent may not take (model run directories, the PCA baseline, the MEC folder).
RESERVED_LATENTS = (*MODELS, "pca", "X_pca", "mec")
EXTERNAL_NAME = r"^[A-Za-z][A-Za-z0-9_.-]*$"
FAITHFUL_FLAGS = ("scaling_per_split", "no_early_stopping_fe_re", "duplicate_tied_updates", "umap_scanpy")

DATASET_DEFAULTS: dict[str, Any] = {
    "x": "X",
    "x_kind": "counts",
    "batch_key": "batch",
    "celltype_key": "celltype",
    "targets": [],
    "drop": {},
    "preset": None,
    "scenario_id": None,
    "reference_splits": None,
}

LOSS_WEIGHTS: dict[str, dict[str, float]] = {
    "ae": {"recon": 1.0},
    "aec": {"recon": 100.0, "cls": 0.1},
    "aec_batch": {"recon": 100.0, "cls": 0.1},
    "scmedalfe": {"recon": 4000.0, "gen": 1.0},
    "scmedalfec": {"recon": 2000.0, "cls": 1.0, "gen": 1.0},
    "scmedalre": {"recon": 110.0, "cls": 0.1},
}

#: per-dataset presets (spec §4), applied over LOSS_WEIGHTS and under the user's keys.
PRESETS: dict[str, dict[str, dict[str, float]]] = {
    "AML": {
        "aec": {"cls": 0.6},
        "scmedalfe": {"recon": 1000.0, "gen": 1.0},
        "scmedalfec": {"recon": 2000.0, "cls": 3.0, "gen": 0.5},
    },
    "ASD": {
        "scmedalfe": {"recon": 2000.0, "gen": 1.0},
        "scmedalfec": {"recon": 2000.0, "cls": 1.0, "gen": 1.0},
        "scmedalre": {"cls": 0.4},
    },
    "HH": {
        "scmedalfe": {"recon": 600.0, "gen": 1.0},
        "scmedalfec": {"recon": 2000.0, "cls": 1.0, "gen": 1.0},
    },
}

DEFAULTS: dict[str, Any] = {
    "outdir": "results/scmedal",
    "seed": 42,
    "datasets": {},
    "preprocess": {
        "min_genes": 10,
        "min_cells": 3,
        "target_sum": 10000.0,
        "n_top_genes": 2916,
        "hvg_flavor": "seurat",
    },
    "splits": {"mode": "cells", "n_folds": 5, "folds": [1, 2, 3, 4, 5], "seed": 42, "holdout_stratify": None},
    "models": ["ae", "aec", "scmedalfe", "scmedalfec", "scmedalre"],
    "architecture": {
        "layer_units": [512, 132],
        "latent_dim": 50,
        "batch_norm": True,
        "last_activation": "linear",
        "classifier_units": [2],
        "adversary_units": [512, 132],
        "re_classifier_units": [5],
        "re": {
            "prior_scale": 0.25,
            "post_loc_init_scale": 0.1,
            "post_scale_init": [0.01, 0.015],
            "kl_weight": 1.0e-5,
            "kl_exact": False,
            "output_norm_init": "keras",
        },
    },
    "loss_weights": {},
    "training": {
        "optimizer": {"lr": 1.0e-4, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1.0e-7},
        "adversary_lr": 1.0e-4,
        "batch_size": 512,
        "epochs": 500,
        "early_stopping": {"monitor": "total", "patience": 30, "min_delta": 0.0, "restore_best": True},
        "inference_batch_size": 4096,
        "save_recon": ["train", "val", "test"],
        "max_dense_gb": 8.0,
        "threads": 2,
        "device": "auto",
    },
    "faithful": {
        "scaling_per_split": False,
        "no_early_stopping_fe_re": False,
        "duplicate_tied_updates": False,
        "umap_scanpy": False,
    },
    "scores": {"sample_size": 10000, "splits": ["train", "val", "test"], "seed": 42, "pca_components": 50},
    "counterfactuals": {"all_cells": False, "max_disk_gb": 50.0, "dtype": "float32", "subsets": []},
    "compare": {"name": None, "split": "test", "models": None, "external_latents": {}},
    "umap": {
        "runs": [{"split": "train", "fold": 1}],
        "n_neighbors": 15,
        "min_dist": 0.5,
        "seed": 5,
        "n_batches": None,
        "max_cells": None,
        "color_by": [],
    },
    "genomap": {
        "grid": [54, 54],
        "solver": "sinkhorn",
        "epsilon": 1.0e-3,
        "num_iter": 100,
        "tol": 1.0e-9,
        "seed": 42,
        "maps": [
            {"split": "train", "fold": 1, "celltypes": ["Dendritic"], "forced_batches": None, "n_cells": 300}
        ],
        "stats": None,
    },
    "mec": {
        "targets": [],
        "fe_latents": ["scmedalfe", "scmedalfec", "X_pca"],
        "with_re": [False, True],
        "n_estimators": 100,
        "rf_seed": 42,
    },
    "resources": {"default": {"threads": 1, "mem_mb": 1000, "runtime": 30}},
}


def section(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``scmedal`` section of a whole config with every default filled (datasets included).

    ``faithful: true`` (a boolean instead of the mapping) sets all four flags.
    """
    raw = dict(config.get("scmedal") or {})
    if raw.get("faithful") is True:
        raw["faithful"] = dict.fromkeys(FAITHFUL_FLAGS, True)
    elif raw.get("faithful") is False:
        raw["faithful"] = {}
    out = deep_merge(DEFAULTS, raw)
    out["datasets"] = {
        name: deep_merge(DATASET_DEFAULTS, spec or {}) for name, spec in out["datasets"].items()
    }
    out["genomap"]["maps"] = [
        deep_merge({"forced_batches": None, "n_cells": 300, "celltypes": None}, m)
        for m in out["genomap"]["maps"]
    ]
    return out


def load(path: str | Path) -> dict[str, Any]:
    """The filled ``scmedal`` section of a YAML config file (InputError on a missing/non-mapping file)."""
    return section(load_yaml(path))


def from_args(config_path: str | None, spec: str | None) -> dict[str, Any]:
    """The section from ``--spec JSON`` (what the rules pass) or ``--config YAML`` (by hand)."""
    if spec:
        try:
            return section({"scmedal": json.loads(spec)})
        except json.JSONDecodeError as exc:
            raise InputError(None, "--spec", f"expected the scmedal section as JSON ({exc.msg})") from None
    if config_path:
        return load(config_path)
    raise InputError(None, "--config", "expected a config file (--config) or a resolved section (--spec)")


def dataset(cfg: Mapping[str, Any], name: str, source: str | None = None) -> dict[str, Any]:
    """``scmedal.datasets.<name>`` or a one-line error naming the known datasets."""
    datasets = cfg.get("datasets") or {}
    if name not in datasets:
        raise InputError(
            source, "scmedal.datasets", f"no dataset {name!r}; expected one of {sorted(datasets)}"
        )
    return datasets[name]


def check_model(model: str, source: str | None = None) -> str:
    """``model`` if it is one of the six models, else a one-line error."""
    if model not in MODELS:
        raise InputError(source, "model", f"expected one of {', '.join(MODELS)}, found {model!r}")
    return model


def external_latents(cfg: Mapping[str, Any]) -> dict[str, str]:
    """``compare.external_latents`` ({name: path pattern with ``{fold}`` and ``{split}``}), checked.

    A name is a directory of the output tree and a MEC feature part: letters, digits, ``_.-``, none of
    :data:`RESERVED_LATENTS`.
    """
    out = dict(cfg["compare"]["external_latents"] or {})
    for name, pattern in out.items():
        field = f"scmedal.compare.external_latents.{name}"
        if not re.match(EXTERNAL_NAME, name) or name in RESERVED_LATENTS:
            reserved = ", ".join(RESERVED_LATENTS)
            raise InputError(None, field, f"expected a name matching {EXTERNAL_NAME} and none of {reserved}")
        try:
            pattern.format(fold=1, split="train")
            ok = "{fold}" in pattern and "{split}" in pattern
        except (KeyError, IndexError, ValueError):
            ok = False
        if not ok:
            raise InputError(
                None, field, "expected a path pattern holding {fold} and {split} (no other braces)"
            )
    return out


def latent_source(cfg: Mapping[str, Any], name: str, source: str | None = None) -> str:
    """The latent ``name`` names: ``pca`` (for ``pca``/``X_pca``), an external latent or one of the models."""
    if name in ("pca", "X_pca"):
        return "pca"
    if name in external_latents(cfg) or name in MODELS:
        return name
    known = [*MODELS, "pca", *external_latents(cfg)]
    raise InputError(source, "model", f"expected one of {', '.join(known)}, found {name!r}")


def loss_weights(cfg: Mapping[str, Any], dataset_name: str, model: str) -> dict[str, float]:
    """Loss weights of ``model``: defaults, then the dataset's preset, then the user's keys."""
    check_model(model)
    weights = dict(LOSS_WEIGHTS[model])
    preset = dataset(cfg, dataset_name).get("preset")
    if preset:
        if preset not in PRESETS:
            raise InputError(
                None, f"scmedal.datasets.{dataset_name}.preset", f"expected one of {sorted(PRESETS)}"
            )
        weights.update(PRESETS[preset].get(model, {}))
    weights.update({k: float(v) for k, v in (cfg.get("loss_weights") or {}).get(model, {}).items()})
    return {k: float(v) for k, v in weights.items()}


def scenario_id(cfg: Mapping[str, Any], dataset_name: str) -> str:
    """``scenario_id`` of a dataset, default ``log_transformed_<n_top_genes>hvggenes`` (``all`` when null)."""
    ds = dataset(cfg, dataset_name)
    if ds.get("scenario_id"):
        return str(ds["scenario_id"])
    n = cfg["preprocess"]["n_top_genes"]
    return f"log_transformed_{'all' if n is None else n}hvggenes"


def _data_key(cfg: Mapping[str, Any], dataset_name: str) -> dict[str, Any]:
    ds = dataset(cfg, dataset_name)
    keys = ("input", "x", "x_kind", "batch_key", "celltype_key", "drop", "preset", "reference_splits")
    return {
        "dataset": {k: ds.get(k) for k in keys},
        "preprocess": cfg["preprocess"],
        "scaling": "per_split" if cfg["faithful"]["scaling_per_split"] else "train",
        "splits": {k: v for k, v in cfg["splits"].items() if k != "folds"},
    }


def run_key(cfg: Mapping[str, Any], dataset_name: str, model: str) -> dict[str, Any]:
    """The hashed content of a model's run name (spec §7): data, splits, model, weights, training.

    PCA hashes its components and seed; an external latent its name and path pattern.
    """
    external = cfg["compare"]["external_latents"]
    if model in external:
        return {"schema": 1, **_data_key(cfg, dataset_name), "external": model, "path": external[model]}
    if model == "pca":
        return {
            "schema": 1,
            **_data_key(cfg, dataset_name),
            "model": "pca",
            "pca_components": cfg["scores"]["pca_components"],
            "seed": cfg["seed"],
        }
    check_model(model)
    training = {k: v for k, v in cfg["training"].items() if k not in ("threads", "device", "save_recon")}
    return {
        "schema": 1,
        **_data_key(cfg, dataset_name),
        "model": model,
        "architecture": cfg["architecture"],
        "loss_weights": loss_weights(cfg, dataset_name, model),
        "training": training,
        "faithful": cfg["faithful"],
        "seed": cfg["seed"],
    }


def hash12(obj: Any) -> str:
    """First 12 hex digits of the SHA-256 of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:12]


def run_name(cfg: Mapping[str, Any], dataset_name: str, model: str) -> str:
    """``run_crossval_<hash12>`` of :func:`run_key` (``model``: a model, ``pca`` or an external latent)."""
    return "run_crossval_" + hash12(run_key(cfg, dataset_name, model))


def compared_models(cfg: Mapping[str, Any]) -> list[str]:
    """Rows of the compare table: ``compare.models`` or every trained model, then ``pca``, then the
    external latents (``compare.external_latents``, in their order)."""
    models = cfg["compare"]["models"] or list(cfg["models"])
    external = list(external_latents(cfg))
    return [m for m in models if m != "pca" and m not in external] + ["pca"] + external


def analysis_name(cfg: Mapping[str, Any], dataset_name: str) -> str:
    """``compare.name`` or ``compare_<hash12>`` of the compared run names and compare/umap/genomap config."""
    if cfg["compare"]["name"]:
        return str(cfg["compare"]["name"])
    runs = {m: run_name(cfg, dataset_name, m) for m in compared_models(cfg)}
    key = {"runs": runs, "compare": cfg["compare"], "umap": cfg["umap"], "genomap": cfg["genomap"]}
    return "compare_" + hash12(key)


def mec_features(cfg: Mapping[str, Any]) -> list[str]:
    """Feature-set names of MEC: each FE-like latent alone and/or with ``scmedalre`` (``a+scmedalre``)."""
    out = []
    for fe in cfg["mec"]["fe_latents"]:
        for with_re in cfg["mec"]["with_re"]:
            out.append(f"{fe}+scmedalre" if with_re else fe)
    return out


def mec_run_name(cfg: Mapping[str, Any], dataset_name: str, features: str, target: str) -> str:
    """``run_mec_<features>_<target>_<hash12>`` (spec §7) of the feature latents' run names and ``mec``."""
    from snakelab.scmedal.mec.names import mec_run_name as name

    parts = features.split("+")
    runs = {
        p: run_name(cfg, dataset_name, "pca" if p == "X_pca" else p) for p in parts if p in (*MODELS, "X_pca")
    }
    externals = {p: cfg["compare"]["external_latents"].get(p) for p in parts if p not in runs}
    key = {
        "runs": runs,
        "external": externals,
        "n_estimators": cfg["mec"]["n_estimators"],
        "rf_seed": cfg["mec"]["rf_seed"],
    }
    return name(features, target, key)
