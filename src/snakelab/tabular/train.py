"""The ``train`` stage: one task = ``trainer.runs_per_task`` runs in one process (spec §7, §11).

For each run of the task (sorted by fold, combo, repeat):

1. skip it when ``runs/<key>/run.json`` holds the planned uid and every recorded output is intact
   (its Predictor/Prediction rows are registered from the files if the store lacks them);
2. otherwise record it as a lineage run (``store.run``: pipeline ``tabular``, kind ``train``), seed the
   framework, train inside :func:`~snakelab.tabular.fit.run_context`, guard against NaN losses,
   predict and score every split of the fold, compute permutation importance on key_evaluation and
   write ``runs/<key>/`` atomically (``run.json`` last);
3. register Predictor, Prediction and the metrics' prediction link in one transaction.

A failing run writes ``runs/<key>.failed.json`` and the task goes on; the task's summary lists each
run as trained / skipped / registered / failed and the stage exits 1 if any failed.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import atomic_directory, write_bytes
from snakelab.tabular.stages import json_bytes, read_json

if TYPE_CHECKING:
    from snakelab.store import Store

log = logging.getLogger("snakelab.tabular")

TASK_FORMAT = "snakelab-tabular-task-v1"


@dataclass
class FoldData:
    """A fold's cached arrays and manifest, loaded once per task."""

    manifest: dict[str, Any]
    arrays: dict[str, dict[str, Any]]
    payload: dict[str, Any]
    samples: dict[str, list[int]]


def process_age_s() -> float:
    """Seconds since this process started (its start-up: interpreter, imports)."""
    import psutil

    return max(0.0, time.time() - psutil.Process().create_time())


def manifest_path(plan: Mapping[str, Any], fold: str) -> Path:
    """``cache/<fold>/manifest.json`` next to the plan's splits.json."""
    return Path(plan["splits"]).parent / "cache" / fold / "manifest.json"


def load_fold(plan: Mapping[str, Any], fold: str) -> FoldData:
    """Arrays, manifest and fitted preprocessing of one fold."""
    from snakelab.tabular.preprocess.cache import load_fold_cache, read_manifest
    from snakelab.tabular.preprocess.fit import load_preprocess
    from snakelab.tabular.splits import fold_entry, read_splits

    path = manifest_path(plan, fold)
    manifest = read_manifest(path)
    samples = fold_entry(read_splits(plan["splits"]), fold, plan["splits"])["samples"]
    payload = load_preprocess(path.parent / "preprocess.joblib")
    return FoldData(manifest, load_fold_cache(path), payload, samples)


def import_framework(library: str) -> None:
    """Import the task's framework once, before its first run (its cost is start-up, shared by the runs)."""
    if library == "keras":
        import keras  # noqa: F401
    elif library == "pytorch":
        import torch  # noqa: F401
    else:
        import sklearn.neural_network  # noqa: F401


def _features_arg(features: list[Any]) -> Any:
    return features[0] if len(features) == 1 else features


def label_shape(analysis_type: str, manifest: Mapping[str, Any]) -> tuple[int, ...]:
    """Per-sample label shape: ``(K,)`` for multi-class whatever the encoding, else the cached shape."""
    label = manifest["label"]
    if analysis_type == "classification_multi" and label.get("unique_classes"):
        return (len(label["unique_classes"]),)
    if analysis_type == "classification_multi" and label.get("encoded_column_names"):
        return (len(label["encoded_column_names"]),)
    return tuple(label["sample_shape"]) or (1,)


def train_task(
    store: Store,
    plan_path: str | Path,
    task: int,
    output: str | Path,
    runs_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train the runs of ``task`` of a plan; write the task summary to ``output``; return it."""
    started = time.monotonic()
    age = process_age_s()
    plan = read_json(plan_path, "plan")
    runs_dir = Path(runs_dir) if runs_dir is not None else Path(plan_path).parent / "runs"
    runs = [r for r in plan["runs"] if r["task"] == task]
    if runs:
        import_framework(plan["algorithm"]["library"])
    folds = {name: load_fold(plan, name) for name in dict.fromkeys(r["fold"] for r in runs)}
    startup = age + time.monotonic() - started
    share = startup / max(1, len(runs))
    results = [one_run(store, plan, run, folds[run["fold"]], runs_dir, share) for run in runs]
    summary = {
        "format": TASK_FORMAT,
        "experiment": plan["experiment"],
        "task": task,
        "runs": results,
        "counts": {
            s: sum(r["status"] == s for r in results) for s in ("trained", "skipped", "registered", "failed")
        },
        "startup_s": startup,
        "wall_s": time.monotonic() - started + age,
    }
    write_bytes(output, json_bytes(summary))
    return summary


def one_run(
    store: Store,
    plan: Mapping[str, Any],
    run: Mapping[str, Any],
    fold: FoldData,
    runs_dir: Path,
    overhead_share: float,
) -> dict[str, Any]:
    """Skip, register or train one run; ``{key, uid, status, fit_s, overhead_s[, error]}``."""
    from snakelab.store.lineage import outputs_intact
    from snakelab.store.record import RunRecordError, read_run_json

    key = run["key"]
    run_json = runs_dir / key / "run.json"
    if run_json.is_file():
        try:
            record = read_run_json(run_json)
        except RunRecordError:
            record = None
        if (
            record is not None
            and record.uid == run["uid"]
            and record.status == "succeeded"
            and outputs_intact(record)
        ):
            created = register_run(store, plan, run, runs_dir / key)
            return {"key": key, "uid": run["uid"], "status": "registered" if created else "skipped"}
    t0 = time.monotonic()
    try:
        fit_s = train_run(store, plan, run, fold, runs_dir)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.error("run %s failed: %s", key, message)
        doc = {"key": key, "uid": run["uid"], "error": message, "traceback": traceback.format_exc()}
        write_bytes(runs_dir / f"{key}.failed.json", json_bytes(doc))
        return {"key": key, "uid": run["uid"], "status": "failed", "error": message}
    failed = runs_dir / f"{key}.failed.json"
    if failed.exists():
        failed.unlink()
    wall = time.monotonic() - t0
    overhead = wall - fit_s + overhead_share
    register_run(store, plan, run, runs_dir / key, overhead_s=overhead, duration_s=wall)
    log.info("run %s: fit %.2f s, overhead %.2f s", key, fit_s, overhead)
    return {"key": key, "uid": run["uid"], "status": "trained", "fit_s": fit_s, "overhead_s": overhead}


def train_run(
    store: Store, plan: Mapping[str, Any], run: Mapping[str, Any], fold: FoldData, runs_dir: Path
) -> float:
    """Train, predict, score and write ``runs/<key>/``; the seconds spent in fn_train."""
    from snakelab.tabular import config as tabular_config
    from snakelab.tabular import seeds
    from snakelab.tabular.algorithms import algorithm_spec, load_functions, train_model
    from snakelab.tabular.fit import (
        check_history,
        check_predictions,
        model_format_of,
        run_context,
        save_model,
        seed_frameworks,
    )
    from snakelab.tabular.importance import permutation_importance, write_importance
    from snakelab.tabular.metrics import (
        SplitPredictions,
        plot_data_split,
        predictions_frame,
        score_splits,
        write_plot_data,
        write_predictions,
    )
    from snakelab.tabular.preprocess.fit import decode_label
    from snakelab.tabular.stages import run_params

    algo = plan["algorithm"]
    library, analysis = algo["library"], algo["analysis_type"]
    trainer = tabular_config.trainer(plan["spec"])
    spec = algorithm_spec(
        library,
        analysis,
        algo["fn_build"],
        **{f: algo.get(f) for f in ("fn_train", "fn_predict", "fn_lose", "fn_optimize")},
    )
    if spec.algorithm_hash != algo["algorithm_hash"]:
        raise RuntimeError(
            f"algorithm code changed since planning ({spec.algorithm_hash[:12]} != "
            f"{algo['algorithm_hash'][:12]}); rerun the plan stage"
        )
    fns = load_functions(spec, label_onehot=plan["label_onehot"])
    hp = dict(run["hyperparameters"])
    keys = fold.manifest["keys"]
    data = fold.arrays
    train_split, eval_split = keys["train"], keys["evaluation"]
    features_shape: Any = [tuple(f["sample_shape"]) for f in fold.manifest["features"]]
    if len(features_shape) == 1:
        features_shape = features_shape[0]
    y_shape = label_shape(analysis, fold.manifest)
    params = run_params(
        plan["experiment"], run["key"], plan["dataset"]["content_hash"], algo["algorithm_hash"]
    )
    seed_frameworks(run["seed"], library, bool(trainer["deterministic"]), int(trainer["threads"]))
    time_started = datetime.now(UTC)
    with store.run(
        pipeline="tabular",
        kind="train",
        config=plan["spec"],
        seed=run["seed"],
        params=params,
        name=f"{plan['experiment']}/{run['key']}",
        run_dir=runs_dir / run["key"],
    ) as lineage:
        if lineage.uid != run["uid"]:
            raise RuntimeError(f"lineage uid {lineage.uid} != planned uid {run['uid']}; rerun the plan stage")
        with run_context(run["seed"], analysis, run["key"]):
            trained = train_model(
                fns,
                features_shape,
                y_shape,
                hp,
                _features_arg(data[train_split]["features"]),
                data[train_split]["label"],
                _features_arg(data[eval_split]["features"]),
                data[eval_split]["label"],
            )
            nan = check_history(trained.history, trainer["nan_loss"])
            outputs: dict[str, Any] = {}
            raw = {}
            for split in sorted(data):
                x, y = _features_arg(data[split]["features"]), data[split]["label"]
                pred, proba = fns.predictions(trained.model, x)
                raw[split] = pred if proba is None else proba
                loss = fns.loss(trained.loser, trained.model, x, y)
                outputs[split] = SplitPredictions(
                    np.asarray(fold.samples[split]), np.asarray(y), pred, proba, loss
                )
            nan_pred = check_predictions(raw, trainer["nan_loss"])
            scores = score_splits(
                analysis, outputs, class_count=y_shape[0] if analysis != "regression" else None
            )
            permute_count = int(trainer["permute_count"])
            fi_seed = seeds.fi_seed(run["seed"])
            importance = None
            if permute_count > 0:
                eval_y = data[eval_split]["label"]
                importance = permutation_importance(
                    lambda feats: fns.loss(trained.loser, trained.model, _features_arg(feats), eval_y),
                    [np.asarray(f) for f in data[eval_split]["features"]],
                    [f["encoded_column_names"] for f in fold.manifest["features"]],
                    permute_count,
                    fi_seed,
                    eval_split,
                )
        label = fold.manifest["label"]
        classes = label.get("unique_classes") or label.get("encoded_column_names")
        frame = predictions_frame(
            analysis,
            outputs,
            class_names=classes if analysis != "regression" else None,
            decode=(lambda enc: decode_label(fold.payload, enc)) if analysis == "regression" else None,
            target_columns=label.get("columns") if analysis == "regression" else None,
        )
        plot_data = {}
        if analysis != "regression":
            for split, out in outputs.items():
                plot_data[split] = plot_data_split(
                    analysis, out.y, out.pred, out.proba, class_count=y_shape[0]
                )
        fmt = model_format_of(library)
        with atomic_directory(runs_dir / run["key"]) as tmp:
            saved = save_model(
                trained.model,
                tmp,
                fmt,
                optimizer=trained.optimizer,
                fn_build=algo["fn_build"],
                hp=hp,
                features_shape=features_shape,
                label_shape=y_shape,
            )
            write_bytes(tmp / "history.json", json_bytes(trained.history))
            write_predictions(tmp / "predictions.parquet", frame)
            write_plot_data(tmp / "plot_data.npz", plot_data)
            if importance is not None:
                write_importance(tmp / "importance.json", importance)
            info = {
                "key": run["key"],
                "uid": run["uid"],
                "seed": run["seed"],
                "fit_s": trained.fit_s,
                "model_format": fmt,
                "model_file": saved.path.name,
                "features_shapes": [
                    list(s)
                    for s in (features_shape if isinstance(features_shape, list) else [features_shape])
                ],
                "label_shape": list(y_shape),
                "time_started": time_started.isoformat(),
                "nan_loss": nan.nan_loss or nan_pred.nan_loss,
                "permute_count": permute_count,
                "fi_seed": fi_seed,
                "fi_split": eval_split,
                "metrics": scores,
            }
            write_bytes(tmp / "metrics.json", json_bytes(info))
        final = runs_dir / run["key"]
        for split, values in scores.items():
            for name, value in values.items():
                lineage.log_metric(name, value, split=split)
        lineage.log_metric("fit_s", trained.fit_s)
        for name in sorted(os.listdir(final)):
            if name != "run.json":
                lineage.log_artifact(name.split(".")[0], final / name)
    return float(trained.fit_s)


def finish_lineage(session: Any, lineage: Any, run_json: Path) -> None:
    """Record the end of a run whose ``run.json`` was written but whose final transaction was lost (the
    process was killed in between): status, times, metrics and outputs from the file."""
    from snakelab.store.lineage import link_artifacts, write_metrics
    from snakelab.store.record import read_run_json

    record = read_run_json(run_json)
    lineage.status, lineage.error = record.status, record.error
    lineage.finished_at, lineage.heartbeat_at = record.finished_at, record.finished_at
    lineage.duration_s = record.duration_s
    session.flush()
    write_metrics(session, lineage.id, {(m.name, m.split, m.step): (m.value, None) for m in record.metrics})
    link_artifacts(session, lineage.id, "out", record.outputs)


def register_run(
    store: Store,
    plan: Mapping[str, Any],
    run: Mapping[str, Any],
    run_dir: Path,
    overhead_s: float | None = None,
    duration_s: float | None = None,
) -> bool:
    """Predictor + Prediction rows of a written run (from its files); link its metrics. True if created."""
    from sqlalchemy import select, update

    from snakelab.store.files import sha256_file, stored_path
    from snakelab.store.models import Metric, Prediction, Predictor, Run
    from snakelab.store.registry import upsert

    info = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    importance = None
    if (run_dir / "importance.json").is_file():
        importance = json.loads((run_dir / "importance.json").read_text(encoding="utf-8"))
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    model = run_dir / info["model_file"]
    files = {
        "model": (stored_path(model), sha256_file(model), model.stat().st_size),
        "predictions": (
            stored_path(run_dir / "predictions.parquet"),
            sha256_file(run_dir / "predictions.parquet"),
        ),
        "plot_data": (stored_path(run_dir / "plot_data.npz"), sha256_file(run_dir / "plot_data.npz")),
    }

    def unit(session: Any) -> bool:
        lineage = session.scalar(select(Run).where(Run.uid == run["uid"]))
        if lineage is None:
            raise RuntimeError(f"run {run['key']}: lineage run {run['uid']} missing from {store.masked_url}")
        run_id = lineage.id
        if lineage.status != "succeeded":
            finish_lineage(session, lineage, run_dir / "run.json")
        existing = session.scalar(
            select(Predictor).where(
                Predictor.job_id == run["job_id"], Predictor.repeat_index == run["repeat_idx"]
            )
        )
        if existing is not None and existing.run_id == run_id and existing.status == "succeeded":
            prediction = session.scalar(
                select(Prediction.id).where(
                    Prediction.predictor_id == existing.id, Prediction.infer_idx == -1
                )
            )
            if prediction is not None:
                return False
        row = {
            "job_id": run["job_id"],
            "repeat_index": run["repeat_idx"],
            "run_id": run_id,
            "seed": run["seed"],
            "status": "succeeded",
            "model_path": files["model"][0],
            "model_sha256": files["model"][1],
            "model_bytes": files["model"][2],
            "model_format": info["model_format"],
            "features_shapes": info["features_shapes"],
            "label_shape": info["label_shape"],
            "history": history,
            "time_started": datetime.fromisoformat(info["time_started"]),
            "time_succeeded": datetime.fromisoformat(record["finished_at"])
            if record.get("finished_at")
            else None,
            "duration_s": duration_s if duration_s is not None else record.get("duration_s"),
            "fit_s": info["fit_s"],
            "overhead_s": overhead_s,
        }
        update_columns = [c for c in row if c not in ("job_id", "repeat_index")]
        upsert(session, Predictor, [row], key=("job_id", "repeat_index"), update=update_columns)
        predictor_id = session.scalar(
            select(Predictor.id).where(
                Predictor.job_id == run["job_id"], Predictor.repeat_index == run["repeat_idx"]
            )
        )
        prediction = {
            "predictor_id": predictor_id,
            "infer_idx": -1,
            "splitset_id": None,
            "predictions_path": files["predictions"][0],
            "predictions_sha256": files["predictions"][1],
            "plot_data_path": files["plot_data"][0],
            "plot_data_sha256": files["plot_data"][1],
            "feature_importance": None if importance is None else importance.get("feature_importance"),
            "permute_count": info["permute_count"],
            "fi_seed": info["fi_seed"] if info["permute_count"] else None,
            "fi_split": info["fi_split"] if info["permute_count"] else None,
        }
        upsert(
            session,
            Prediction,
            [prediction],
            key=("predictor_id", "infer_idx"),
            update=[c for c in prediction if c not in ("predictor_id", "infer_idx")],
        )
        prediction_id = session.scalar(
            select(Prediction.id).where(Prediction.predictor_id == predictor_id, Prediction.infer_idx == -1)
        )
        session.execute(update(Metric).where(Metric.run_id == run_id).values(prediction_id=prediction_id))
        return True

    return store.transaction(unit)
