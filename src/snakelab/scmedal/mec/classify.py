"""One MEC fold: StandardScaler (train-fitted) → RandomForest vs a stratified DummyClassifier (spec §9).

Files written to the fold directory (``mec/<mec_run>/splits_<k>/``), each atomically:

* ``metrics.csv`` — index ``split`` (train, val, test), columns :data:`METRICS`
  (read back with ``pd.read_csv(p, index_col=0)``);
* ``y_pred_<split>_rf.csv`` and ``y_pred_<split>_dummy.csv`` — columns ``obs_name, y_true, y_pred``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.scmedal.mec")

SPLITS = ("train", "val", "test")
METRICS = ("RFAccuracy", "RFBalancedAccuracy", "ChanceAccuracy", "ChanceBalancedAccuracy")


def concat_features(fe: np.ndarray, re: np.ndarray | None = None) -> np.ndarray:
    """Feature matrix [n_cells, d_fe (+ d_re)], float64: the FE-like latent, then the RE latent if given."""
    fe = np.asarray(fe, dtype=np.float64)
    if fe.ndim != 2:
        raise InputError(None, "features", f"a 2-d latent [cells, dims], found shape {fe.shape}")
    if re is None:
        return fe
    re = np.asarray(re, dtype=np.float64)
    if re.ndim != 2 or re.shape[0] != fe.shape[0]:
        raise InputError(
            None, "re_latent", f"shape ({fe.shape[0]}, d) matching the FE latent, found {re.shape}"
        )
    return np.hstack([fe, re])


def _check(
    features: Mapping[str, np.ndarray], labels: Mapping[str, Sequence], obs_names: Mapping[str, Sequence]
):
    for split in SPLITS:
        for name, table in (("features", features), ("labels", labels), ("obs_names", obs_names)):
            if split not in table:
                raise InputError(None, f"{name}[{split}]", "one entry per split train, val, test")
        n = len(features[split])
        if np.ndim(features[split]) != 2:
            raise InputError(None, f"features[{split}]", f"a 2-d array, found {np.shape(features[split])}")
        if len(labels[split]) != n or len(obs_names[split]) != n:
            raise InputError(
                None,
                f"labels[{split}]",
                f"{n} labels and obs names (one per feature row), found {len(labels[split])} and "
                f"{len(obs_names[split])}",
            )
    if pd.isna(pd.Series(np.asarray(labels["train"], dtype=object))).any():
        raise InputError(None, "labels[train]", "no missing target values")


def _write_csv(frame: pd.DataFrame, path: Path, index: bool) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)


def run_mec_fold(
    features: Mapping[str, np.ndarray],
    labels: Mapping[str, Sequence],
    obs_names: Mapping[str, Sequence[str]],
    out_dir: str | os.PathLike[str],
    n_estimators: int = 100,
    rf_seed: int = 42,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Fit and score one fold; write ``metrics.csv`` and the six ``y_pred`` files into ``out_dir``.

    Parameters
    ----------
    features:
        ``{split: [n_split, d]}`` for split in train, val, test (e.g. :func:`concat_features`).
    labels:
        ``{split: [n_split]}`` target values (strings or integers); train must have no missing value.
    obs_names:
        ``{split: [n_split]}`` cell names, written to the prediction files.
    n_estimators, rf_seed:
        ``RandomForestClassifier(n_estimators, random_state=rf_seed)``; the chance model is
        ``DummyClassifier(strategy="stratified", random_state=rf_seed)``. Both fit on the scaled train rows.
    n_jobs:
        Random-forest threads (results do not depend on it).

    Returns the metrics frame (index split, columns :data:`METRICS`, fractions in [0, 1]).
    """
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    _check(features, labels, obs_names)
    out = Path(out_dir)
    y = {s: np.asarray(labels[s]) for s in SPLITS}
    scaler = StandardScaler().fit(np.asarray(features["train"], dtype=np.float64))
    x = {s: scaler.transform(np.asarray(features[s], dtype=np.float64)) for s in SPLITS}
    models = {
        "rf": RandomForestClassifier(n_estimators=n_estimators, random_state=rf_seed, n_jobs=n_jobs),
        "dummy": DummyClassifier(strategy="stratified", random_state=rf_seed),
    }
    rows = {}
    for model in models.values():
        model.fit(x["train"], y["train"])
    for split in SPLITS:
        row = {}
        for kind, prefix in (("rf", "RF"), ("dummy", "Chance")):
            pred = models[kind].predict(x[split])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # a class predicted but absent from this split
                row[f"{prefix}Accuracy"] = accuracy_score(y[split], pred)
                row[f"{prefix}BalancedAccuracy"] = balanced_accuracy_score(y[split], pred)
            table = pd.DataFrame(
                {"obs_name": np.asarray(obs_names[split]), "y_true": y[split], "y_pred": pred}
            )
            _write_csv(table, out / f"y_pred_{split}_{kind}.csv", index=False)
        rows[split] = row
    metrics = pd.DataFrame.from_dict(rows, orient="index")[list(METRICS)]
    metrics.index.name = "split"
    _write_csv(metrics, out / "metrics.csv", index=True)
    log.info(
        "MEC fold: test balanced accuracy %.4f (chance %.4f)",
        metrics.loc["test", "RFBalancedAccuracy"],
        metrics.loc["test", "ChanceBalancedAccuracy"],
    )
    return metrics


def read_fold_metrics(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a fold's ``metrics.csv`` (index split, columns :data:`METRICS`), checking its layout."""
    frame = pd.read_csv(path, index_col=0)
    missing = [m for m in METRICS if m not in frame.columns] + [s for s in SPLITS if s not in frame.index]
    if missing:
        raise InputError(path, ",".join(missing), f"rows {list(SPLITS)} and columns {list(METRICS)}")
    return frame.loc[list(SPLITS), list(METRICS)].astype(np.float64)
