"""Stage ``train`` (spec §4, §7): one model × fold → latents, reconstructions, history, checkpoints.

Writes, in this order (each file atomically): ``latent_space/.../splits_<k>/<model>_latent_<s>.npy``,
``recon_<s>.npy`` (``training.save_recon``), ``history.csv``, ``scaler.json``, ``saved_models/.../
configs.json`` and finally ``saved_models/.../splits_<k>/`` (checkpoints, ``model_params.yaml`` and
``training.json``, the sentinel) as one directory rename.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_directory, atomic_path, write_text
from snakelab.core.seeds import integer_seed
from snakelab.core.seeds import rng as seeded_rng
from snakelab.scmedal import config as C
from snakelab.scmedal.data import FoldData, load_fold
from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.train")


def job_seeds(cfg: Mapping[str, Any], fold: int, model: str) -> dict[str, int]:
    """Seeds of one job from SeedSequence([seed, fold, model_code]): Keras, shuffle, RE noise."""
    code = C.MODEL_CODES[model]
    return {
        "keras": integer_seed(cfg["seed"], fold, code, 0),
        "shuffle": integer_seed(cfg["seed"], fold, code, 1),
        "noise": integer_seed(cfg["seed"], fold, code, 2),
    }


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """float32 C-order ``.npy``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array, dtype=np.float32))


def write_csv(frame: Any, path: str | Path, **kwargs: Any) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)


def train_job(cfg: Mapping[str, Any], dataset: str, model_name: str, fold: int) -> dict[str, Any]:
    """Train ``model_name`` on fold ``fold`` of ``dataset`` and write its outputs; return training.json."""
    import pandas as pd
    import tensorflow as tf
    import yaml

    from snakelab.scmedal import checkpoints
    from snakelab.scmedal.models.build import build_model, init_output_norm
    from snakelab.scmedal.models.training import Trainer, fit, predict
    from snakelab.scmedal.runtime import setup_tensorflow

    C.check_model(model_name)
    tree = Tree(cfg, dataset)
    training = cfg["training"]
    seeds = job_seeds(cfg, fold, model_name)
    device = setup_tensorflow(seeds["keras"], int(training["threads"]), training["device"])
    data = load_fold(
        tree.adata(),
        tree.splits(),
        fold,
        cfg["faithful"]["scaling_per_split"],
        float(training["max_dense_gb"]),
    )
    weights = C.loss_weights(cfg, dataset, model_name)
    model = build_model(model_name, data.n_genes, len(data.batches), len(data.celltypes), cfg["architecture"])
    if model.is_re and cfg["architecture"]["re"]["output_norm_init"] == "data":
        init_output_norm(model, *data.moments("train"))
    trainer = Trainer(
        model,
        weights,
        training["optimizer"],
        float(training["adversary_lr"]),
        duplicate_tied_updates=bool(cfg["faithful"]["duplicate_tied_updates"]),
    )
    z_tr, zin_tr, y_tr = data.z("train"), data.z_input("train"), data.y("train")

    def train_rows(idx: np.ndarray):
        return data.rows("train", idx), z_tr[idx], zin_tr[idx], y_tr[idx]

    train_data = (data.rows("train"), z_tr, zin_tr, y_tr) if "train" in data.dense else train_rows

    early = not (
        cfg["faithful"]["no_early_stopping_fe_re"] and model_name in ("scmedalfe", "scmedalfec", "scmedalre")
    )
    val = (data.rows("val"), data.z("val"), data.z_input("val"), data.y("val"))
    log.info(
        "%s fold %d: %d train cells x %d genes, %d batches, %d cell types, %d parameters, weights %s",
        model_name,
        fold,
        data.n("train"),
        data.n_genes,
        len(data.batches),
        len(data.celltypes),
        model.parameter_count(),
        weights,
    )
    result = fit(
        trainer,
        train_data,
        data.n("train"),
        val,
        seeded_rng(seeds["shuffle"]),
        seeds["noise"],
        training,
        early,
    )

    chunk = int(training["inference_batch_size"])
    restored = trainer.evaluate(*val, chunk=chunk)
    for split in C.SPLITS:
        latent, recon = predict(
            model, lambda sl, s=split: data.rows(s, sl), data.z_input(split), data.n(split), chunk
        )
        save_npy(tree.latent(model_name, fold, split), latent)
        if split in training["save_recon"]:
            save_npy(tree.recon(model_name, fold, split), recon)
    if model_name == "scmedalre" and cfg["counterfactuals"]["all_cells"]:
        write_all_counterfactuals(cfg, tree, model, data, fold)
    history = pd.DataFrame(result.history)
    history["epoch"] = history["epoch"].astype(int)
    write_csv(history, tree.history(model_name, fold), index=False)
    write_text(tree.scaler(model_name, fold), json.dumps(scaler_doc(data), indent=2) + "\n")
    write_configs(cfg, dataset, model_name, tree)

    seconds = result.epoch_seconds
    info = {
        "model": model_name,
        "fold": fold,
        "best_epoch": result.best_epoch,
        "best_monitored": result.best_value,
        "restored_val_total_loss": restored["total_loss"],
        "restored_val_recon_loss": restored["recon_loss"],
        "stopped_epoch": result.epochs_run,
        "epochs_run": result.epochs_run,
        "early_stopping": early,
        "seconds": result.seconds,
        "s_per_epoch": float(np.median(seconds[1:])) if len(seconds) > 1 else float(seconds[0]),
        "parameter_count": model.parameter_count(),
        "seeds": seeds,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "device": device,
        "threads": int(training["threads"]),
        "loss_weights": weights,
        "run_name": tree.run_name(model_name),
    }
    best_state = model.get_state()
    with atomic_directory(tree.saved_fold(model_name, fold)) as tmp:
        model.set_state(result.initial_state)
        first = checkpoints.write(model, tmp, 0)
        model.set_state(best_state)
        names = [first]
        if result.best_epoch != 0:
            names.append(checkpoints.write(model, tmp, result.best_epoch))
        checkpoints.write_state_file(tmp, names, names[-1])
        params = {
            "model": model_name,
            "fold": fold,
            "n_genes": data.n_genes,
            "batches": data.batches,
            "celltypes": data.celltypes,
            "architecture": cfg["architecture"],
            "loss_weights": weights,
            "training": dict(training),
        }
        (tmp / "model_params.yaml").write_text(yaml.safe_dump(params, sort_keys=True), encoding="utf-8")
        (tmp / "training.json").write_text(
            json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    log.info(
        "%s fold %d: best epoch %d of %d, %.1f s",
        model_name,
        fold,
        result.best_epoch,
        result.epochs_run,
        result.seconds,
    )
    return info


def write_all_counterfactuals(
    cfg: Mapping[str, Any], tree: Tree, model: Any, data: FoldData, fold: int
) -> None:
    """``counterfactuals.all_cells``: the reference's ``recon_batch_<s>_<batch>.npy`` (every cell of every
    split into every batch) after a pre-flight size estimate against ``counterfactuals.max_disk_gb``."""
    from snakelab.core.errors import InputError
    from snakelab.scmedal.counterfactuals import counterfactual_recon
    from snakelab.scmedal.models.training import inference_function

    n_b = len(data.batches)
    size_gb = sum(data.n(s) for s in C.SPLITS) * data.n_genes * 4 * n_b / 1e9
    limit = float(cfg["counterfactuals"]["max_disk_gb"])
    if size_gb > limit:
        raise InputError(
            None,
            "counterfactuals.all_cells",
            f"estimated {size_gb:.1f} GB exceeds counterfactuals.max_disk_gb {limit}",
        )
    forward = inference_function(model)
    chunk = int(cfg["training"]["inference_batch_size"])
    for split in C.SPLITS:
        for b, name in enumerate(data.batches):
            (recon,) = counterfactual_recon(forward, data.rows(split), [b], n_b, chunk)
            save_npy(f"{tree.latent_fold('scmedalre', fold)}/recon_batch_{split}_{name}.npy", recon)


def scaler_doc(data: FoldData) -> dict[str, Any]:
    """``scaler.json``: the train pair (``min``, ``max``, ``fitted_on``) and, if per-split, each split's."""
    train = data.scalers["train"]
    doc: dict[str, Any] = {"min": train["min"], "max": train["max"], "fitted_on": train["fitted_on"]}
    if any(s["fitted_on"] != "train" for s in data.scalers.values()):
        doc["per_split"] = data.scalers
    return doc


def write_configs(cfg: Mapping[str, Any], dataset: str, model: str, tree: Tree) -> None:
    """``configs.json``: the hashed key, run name, its SHA-256 and versions (same bytes from every fold)."""
    import hashlib

    import tensorflow as tf

    from snakelab import __version__
    from snakelab.core.config_hash import canonical_json

    key = C.run_key(cfg, dataset, model)
    doc = {
        "config": key,
        "run_name": tree.run_name(model),
        "config_sha256": hashlib.sha256(canonical_json(key).encode("utf-8")).hexdigest(),
        "versions": {"snakelab": __version__, "tensorflow": tf.__version__},
    }
    write_text(tree.configs_json(model), json.dumps(doc, indent=2, sort_keys=True) + "\n")


def load_trained(cfg: Mapping[str, Any], dataset: str, model_name: str, fold: int, data: FoldData) -> Any:
    """The trained model of a fold, restored from its best (or last) checkpoint."""
    from snakelab.scmedal import checkpoints
    from snakelab.scmedal.models.build import build_model

    tree = Tree(cfg, dataset)
    model = build_model(model_name, data.n_genes, len(data.batches), len(data.celltypes), cfg["architecture"])
    checkpoints.restore(model, checkpoints.latest(tree.saved_fold(model_name, fold)))
    return model
