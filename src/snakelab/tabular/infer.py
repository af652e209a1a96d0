"""The ``infer`` stage: predict new tabular data with a trained run (spec §7 "Inference").

``snakelab tabular infer --plan P --run <key|best> --input F --output P [--target-column C]``. The new
table must have the training dataset's feature columns with the same canonical kinds; it is encoded
with the run's fold ``preprocess.joblib`` (the coders fit on that fold's train rows), the model is
loaded from ``runs/<key>/``, and the decoded predictions are written as parquet. With a target column
the predictions are scored. The predictions are recorded as a Prediction row of the run's Predictor
(``infer_idx`` 0, 1, …) on an inference Splitset (``predictor_id``, split ``infer_<n>``) inside a
lineage run of kind ``infer``. Windowed and non-tabular datasets are not supported here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.tabular.stages import read_json

log = logging.getLogger("snakelab.tabular.infer")

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


#: canonical column kinds (``store.hashing.column_kinds``) a model input accepts interchangeably.
_KIND_GROUPS = {"bool": "number", "int": "number", "uint": "number", "float": "number"}


def read_table(source: str | Path) -> pd.DataFrame:
    """The new rows: a ``.csv``, ``.tsv`` or ``.parquet`` file."""
    import pandas as pd

    suffix = Path(source).suffix.lower()
    if suffix not in {".csv", ".tsv", ".parquet"}:
        raise InputError(source, "--input", "expected a .csv, .tsv or .parquet file")
    if suffix == ".parquet":
        return pd.read_parquet(source)
    return pd.read_csv(source, sep="\t" if suffix == ".tsv" else ",")


def check_schema(
    frame: pd.DataFrame,
    training_kinds: list[dict[str, str]] | None,
    payload: dict[str, Any],
    source: str,
    dataset_name: str,
) -> None:
    """The new table against the training dataset: every feature column present, with a compatible
    canonical kind (numbers with numbers; strings, datetimes (same time zone) and durations with
    their own kind). Raises :class:`InputError` naming the first offending column."""
    from snakelab.store.hashing import HashError, column_kinds

    columns = [c for feature in payload["features"] for c in feature["columns"]]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(source, "columns", f"missing feature column(s) {missing} of dataset {dataset_name}")
    trained = {k["name"]: k for k in training_kinds or []}
    try:
        new = {k["name"]: k for k in column_kinds(frame[columns])}
    except HashError as exc:
        raise InputError(source, "columns", str(exc)) from None
    for column in columns:
        if column not in trained:
            continue
        old, now = trained[column], new[column]
        same = _KIND_GROUPS.get(old["kind"], old["kind"]) == _KIND_GROUPS.get(now["kind"], now["kind"])
        if not same or old.get("tz") != now.get("tz"):
            raise InputError(
                source,
                column,
                f"a {old['kind']} column{' (tz ' + old['tz'] + ')' if old.get('tz') else ''} as in the "
                f"training dataset {dataset_name}, got {now['kind']}",
            )


def infer(
    store: Store,
    plan_path: str | Path,
    run: str,
    input_path: str | Path,
    output: str | Path,
    target_column: str | None = None,
) -> Path:
    """Predict ``input_path`` with a run of the plan; write ``output`` (parquet); return it.

    Recorded in the store as one lineage run (kind ``infer``; inputs: the table, the model and the
    fold preprocessing) holding an inference Splitset (``predictor_id`` set, one split
    ``infer_<n>`` with every row), a Prediction (``infer_idx`` n) and, with ``target_column``, the
    metrics of that split. The same table through the same run again is recognised and not
    recorded twice.
    """
    from snakelab.core.atomic import atomic_path
    from snakelab.store.errors import RunExists
    from snakelab.store.models import Dataset, Window
    from snakelab.tabular.algorithms import algorithm_spec, load_functions
    from snakelab.tabular.fit import load_model
    from snakelab.tabular.metrics import score_split
    from snakelab.tabular.preprocess.fit import load_preprocess
    from snakelab.tabular.train import manifest_path

    plan_path = Path(plan_path)
    plan = read_json(plan_path, "plan")
    entry = choose_run(plan, run, plan_path)
    run_dir = plan_path.parent / "runs" / entry["key"]
    info = read_json(run_dir / "metrics.json", "metrics")
    manifest = manifest_path(plan, entry["fold"])
    preprocess_file = manifest.parent / "preprocess.joblib"
    payload = load_preprocess(preprocess_file)
    source = str(input_path)
    frame = read_table(source)

    def training_schema(session: Any) -> tuple[str, str, list[dict[str, str]] | None, bool]:
        dataset = session.get(Dataset, plan["dataset"]["id"])
        if dataset is None:
            raise InputError(
                plan_path, "dataset", f"dataset id {plan['dataset']['id']} in {store.masked_url}"
            )
        feature_ids = [f["feature_id"] for f in payload["features"]]
        windowed = session.query(Window).filter(Window.feature_id.in_(feature_ids)).count() > 0
        return dataset.name or dataset.content_hash[:12], dataset.typ, dataset.kinds, windowed

    dataset_name, typ, kinds, windowed = store.transaction(training_schema)
    if typ != "tabular" or windowed:
        raise InputError(
            plan_path, "dataset", f"a tabular dataset without windows for infer; {dataset_name} is not"
        )
    check_schema(frame, kinds, payload, source, dataset_name)
    features = encode_features(payload, frame, source)
    algo = plan["algorithm"]
    spec = algorithm_spec(
        algo["library"],
        algo["analysis_type"],
        algo["fn_build"],
        **{f: algo.get(f) for f in ("fn_train", "fn_predict", "fn_lose", "fn_optimize")},
    )
    fns = load_functions(spec, label_onehot=plan["label_onehot"])
    model_file = run_dir / info["model_file"]
    model = load_model(model_file, info["model_format"], build=fns.build)
    x = features[0] if len(features) == 1 else features
    pred, proba = fns.predictions(model, x)
    table = prediction_table(frame, payload, algo["analysis_type"], pred, proba)
    scores: dict[str, Any] | None = None
    if target_column is not None:
        if target_column not in frame.columns:
            raise InputError(source, "--target-column", f"no column {target_column!r}")
        table["y_true"] = frame[target_column].to_numpy()
        coder = payload["label"]["coder"]
        y = frame[[target_column]].to_numpy()
        encoded = y if coder is None else np.asarray(coder["fitted"].transform(y))
        scores = score_split(
            algo["analysis_type"],
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
    try:
        with store.run(
            pipeline="tabular",
            kind="infer",
            config=plan["spec"],
            params={"experiment": plan["experiment"], "run": entry["key"], "target_column": target_column},
            inputs={"table": source, "model": model_file, "preprocess": preprocess_file},
            name=f"{plan['experiment']}/{entry['key']}/infer",
            run_dir=plan_path.parent / "inference" / f"{entry['key']}-{_short_digest(source)}",
        ) as lineage:
            infer_idx, prediction_id = store.transaction(
                lambda session: _record_prediction(session, store, plan, plan_path, entry, output, len(frame))
            )
            for name, value in (scores or {}).items():
                if value is None:  # the loss needs the model's raw output, which infer does not keep
                    continue
                lineage.log_metric(name, value, split=f"infer_{infer_idx}", prediction_id=prediction_id)
            lineage.log_artifact("predictions", output)
    except RunExists as exists:
        log.info("%s through run %s is already recorded (%s)", source, entry["key"], exists)
    if scores is not None:
        log.info("scores on %s: %s", source, json.dumps(scores, sort_keys=True))
    return output


def prediction_table(
    frame: pd.DataFrame, payload: dict[str, Any], analysis: str, pred: Any, proba: Any
) -> pd.DataFrame:
    """Decoded predictions: ``sample``, ``y_pred`` and, for classifiers, ``p_<class>`` per class."""
    import pandas as pd

    from snakelab.tabular.preprocess.fit import decode_label

    table = pd.DataFrame({"sample": np.arange(len(frame))})
    if analysis == "regression":
        table["y_pred"] = np.asarray(decode_label(payload, np.asarray(pred))).reshape(len(frame), -1)[:, 0]
        return table
    classes = payload["label"]["unique_classes"] or payload["label"]["encoded_column_names"]
    table["y_pred"] = [classes[int(i)] for i in np.asarray(pred).reshape(-1)]
    for k, name in enumerate(classes):
        table[f"p_{name}"] = np.asarray(proba)[:, k] if proba is not None and np.ndim(proba) == 2 else np.nan
    return table


def _short_digest(path: str | Path) -> str:
    from snakelab.store.files import sha256_file

    return sha256_file(Path(path))[:12]


def _record_prediction(
    session: Any,
    store: Store,
    plan: dict[str, Any],
    plan_path: Path,
    entry: dict[str, Any],
    output: Path,
    n_rows: int,
) -> tuple[int, int]:
    """Insert the inference Splitset and Prediction of ``output``; return (infer_idx, prediction id)."""
    import hashlib

    from sqlalchemy import func, select

    from snakelab.store.files import sha256_file, stored_path
    from snakelab.store.models import Prediction, Predictor, Splitset
    from snakelab.tabular.splits import sizes

    predictor = session.scalar(
        select(Predictor).where(
            Predictor.job_id == entry["job_id"], Predictor.repeat_index == entry["repeat_idx"]
        )
    )
    if predictor is None:
        raise InputError(plan_path, "--run", f"run {entry['key']} has no predictor in {store.masked_url}")
    last = session.scalar(
        select(func.max(Prediction.infer_idx)).where(Prediction.predictor_id == predictor.id)
    )
    infer_idx = max(-1, last if last is not None else -1) + 1
    split = f"infer_{infer_idx}"
    training = session.get(Splitset, plan["splitset_id"])
    digest = sha256_file(output)
    splitset = Splitset(
        name=f"{plan['experiment']}/{entry['key']}/{split}",
        predictor_id=predictor.id,
        label_id=None,
        size_test=None,
        size_validation=None,
        fold_count=0,
        supervision="unsupervised",
        has_validation=False,
        key_train=split,
        split_seed=training.split_seed if training is not None else 0,
        fold_seed=training.fold_seed if training is not None else 0,
        samples={split: list(range(n_rows))},
        sizes=sizes({split: range(n_rows)}, n_rows),
        spec_hash=hashlib.sha256(f"infer:{predictor.id}:{infer_idx}:{digest}".encode()).hexdigest(),
    )
    session.add(splitset)
    session.flush()
    row = Prediction(
        predictor_id=predictor.id,
        splitset_id=splitset.id,
        infer_idx=infer_idx,
        predictions_path=stored_path(output),
        predictions_sha256=digest,
    )
    session.add(row)
    session.flush()
    return infer_idx, row.id
