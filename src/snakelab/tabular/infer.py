"""The ``infer`` stage: predict new tabular data with a trained run (spec §7 "Inference").

``snakelab tabular infer --plan P --run <key|best> --input F --output P [--target-column C]``. The new
table must have the training dataset's feature columns with the same canonical kinds; it is encoded
with the run's fold ``preprocess.joblib`` (the coders fit on that fold's train rows), the model is
loaded from ``runs/<key>/``, and the decoded predictions are written as parquet. With a target column
the predictions are scored. The predictions are recorded as a Prediction row of the run's Predictor
(``infer_idx`` 0, 1, …). Windowed, interpolated and non-tabular features are not supported here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.tabular.stages import read_json

if TYPE_CHECKING:
    import pandas as pd

    from snakelab.store import Store


def choose_run(plan: dict[str, Any], run: str, plan_path: Path) -> dict[str, Any]:
    """The plan's run with key ``run``, or for ``best`` the first run of the best combo (best.json)."""
    if run == "best":
        best = read_json(plan_path.parent / "best.json", "best")
        run = best["runs"][0]
    for entry in plan["runs"]:
        if entry["key"] == run:
            return entry
    raise InputError(
        plan_path, "--run", f"no run {run!r}; expected 'best' or a key like {plan['runs'][0]['key']}"
    )


def encode_features(payload: dict[str, Any], frame: pd.DataFrame, source: str) -> list[np.ndarray]:
    """The new rows through each feature's fitted coder chain (float32 (n, encoded columns))."""
    arrays = []
    for feature in payload["features"]:
        missing = [c for c in feature["columns"] if c not in frame.columns]
        if missing:
            raise InputError(source, "columns", f"missing feature column(s) {missing}")
        parts = [
            np.asarray(
                coder["fitted"].transform(frame[coder["matching_columns"]].to_numpy()), dtype=np.float64
            )
            for coder in feature["coders"]
        ]
        if feature["leftover_columns"]:
            parts.append(frame[feature["leftover_columns"]].to_numpy(dtype=np.float64))
        arrays.append(np.hstack(parts).astype(np.float32))
    return arrays


def infer(
    store: Store,
    plan_path: str | Path,
    run: str,
    input_path: str | Path,
    output: str | Path,
    target_column: str | None = None,
) -> Path:
    """Predict ``input_path`` with a run of the plan; write ``output`` (parquet); return it."""
    import pandas as pd
    from sqlalchemy import func, select

    from snakelab.core.atomic import atomic_path
    from snakelab.store.files import sha256_file, stored_path
    from snakelab.store.models import Prediction, Predictor
    from snakelab.tabular.algorithms import algorithm_spec, load_functions
    from snakelab.tabular.fit import load_model
    from snakelab.tabular.metrics import score_split
    from snakelab.tabular.preprocess.fit import decode_label, load_preprocess
    from snakelab.tabular.train import manifest_path

    plan_path = Path(plan_path)
    plan = read_json(plan_path, "plan")
    entry = choose_run(plan, run, plan_path)
    run_dir = plan_path.parent / "runs" / entry["key"]
    info = read_json(run_dir / "metrics.json", "metrics")
    manifest = manifest_path(plan, entry["fold"])
    payload = load_preprocess(manifest.parent / "preprocess.joblib")
    source = str(input_path)
    suffix = Path(source).suffix.lower()
    if suffix not in {".csv", ".tsv", ".parquet"}:
        raise InputError(source, "--input", "expected a .csv, .tsv or .parquet file")
    frame = (
        pd.read_parquet(source)
        if suffix == ".parquet"
        else pd.read_csv(source, sep="\t" if suffix == ".tsv" else ",")
    )
    features = encode_features(payload, frame, source)
    algo = plan["algorithm"]
    spec = algorithm_spec(
        algo["library"],
        algo["analysis_type"],
        algo["fn_build"],
        **{f: algo.get(f) for f in ("fn_train", "fn_predict", "fn_lose", "fn_optimize")},
    )
    fns = load_functions(spec, label_onehot=plan["label_onehot"])
    model = load_model(run_dir / info["model_file"], info["model_format"], build=fns.build)
    x = features[0] if len(features) == 1 else features
    pred, proba = fns.predictions(model, x)
    table = pd.DataFrame({"sample": np.arange(len(frame))})
    analysis = algo["analysis_type"]
    if analysis == "regression":
        table["y_pred"] = np.asarray(decode_label(payload, np.asarray(pred))).reshape(len(frame), -1)[:, 0]
    else:
        classes = payload["label"]["unique_classes"] or payload["label"]["encoded_column_names"]
        table["y_pred"] = [classes[int(i)] for i in np.asarray(pred).reshape(-1)]
        for k, name in enumerate(classes):
            table[f"p_{name}"] = (
                np.asarray(proba)[:, k] if proba is not None and np.ndim(proba) == 2 else np.nan
            )
    scores: dict[str, Any] | None = None
    if target_column is not None:
        if target_column not in frame.columns:
            raise InputError(source, "--target-column", f"no column {target_column!r}")
        table["y_true"] = frame[target_column].to_numpy()
        coder = payload["label"]["coder"]
        y = frame[[target_column]].to_numpy()
        encoded = y if coder is None else np.asarray(coder["fitted"].transform(y))
        scores = score_split(
            analysis,
            encoded,
            pred,
            proba,
            None,
            class_count=len(payload["label"]["unique_classes"] or []) or None,
            split="infer",
        )
    output = Path(output)
    with atomic_path(output) as tmp:
        table.to_parquet(tmp, index=False)
    digest = sha256_file(output)

    def unit(session: Any) -> int:
        predictor_id = session.scalar(
            select(Predictor.id).where(
                Predictor.job_id == entry["job_id"], Predictor.repeat_index == entry["repeat_idx"]
            )
        )
        if predictor_id is None:
            raise InputError(plan_path, "--run", f"run {entry['key']} has no predictor in {store.masked_url}")
        last = session.scalar(
            select(func.max(Prediction.infer_idx)).where(Prediction.predictor_id == predictor_id)
        )
        row = Prediction(
            predictor_id=predictor_id,
            infer_idx=max(-1, last if last is not None else -1) + 1,
            predictions_path=stored_path(output),
            predictions_sha256=digest,
        )
        session.add(row)
        session.flush()
        return row.infer_idx

    store.transaction(unit)
    if scores is not None:
        import logging

        logging.getLogger("snakelab.tabular").info(
            "scores on %s: %s", source, json.dumps(scores, sort_keys=True)
        )
    return output
