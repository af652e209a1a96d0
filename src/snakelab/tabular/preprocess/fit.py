"""The per-fold fit (spec §5 "Fit scope"): fit on exactly the train rows, transform every split.

Train rows are the rows of the fold's key_train samples (``folds_train_combined`` with folds,
``train`` without). For a windowed feature they are the sorted union of the train windows' row
ranges (unshifted ∪ shifted), so a row that only non-train windows cover never reaches a fit
(AIQC's ``list.sort()`` bug fit its scaler on all rows). Coders with ``fit_scope: all``
(categorical) are fit on all rows; separately processed interpolaters see the train rows alone.

One fit per fold: :func:`fit_fold` returns the arrays of every split, the fitted objects
(``preprocess.joblib``: plain dicts of fitted scikit-learn objects + the sklearn version) and the
fit report; :func:`prepare_fold` does the whole ``prepare`` stage (splits.json + store →
``cache/<fold>/``, then the fold row).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.tabular.preprocess.coders import (
    CoderPlan,
    column_block,
    fit_coder,
    fitted_attributes,
    inverse_block,
    transform_block,
)
from snakelab.tabular.preprocess.features import FeaturePlan
from snakelab.tabular.preprocess.interpolate import interpolate_rows
from snakelab.tabular.preprocess.jsonable import rows_sha256
from snakelab.tabular.preprocess.labels import LabelPlan
from snakelab.tabular.preprocess.window import WindowPlan

if TYPE_CHECKING:
    import pandas as pd

    from snakelab.store.core import Store

log = logging.getLogger("snakelab.tabular")

PREPROCESS_FORMAT = "snakelab-preprocess-v1"


@dataclass(frozen=True)
class RowLayout:
    """How a feature's samples map onto the rows of its 2-D frame (one row per time point).

    ``kind``: ``row`` (sample i = row i), ``window`` (sample i = window i) or ``block`` (sample i =
    ``block`` consecutive rows: a sequence's rows, or an image's channels × rows). ``shape``: the
    per-sample dims between samples and columns; ``interpolation_block``: rows interpolated together
    (``None``: the whole series).
    """

    kind: str
    n_rows: int
    block: int = 1
    shape: tuple[int, ...] = ()
    interpolation_block: int | None = None
    window: WindowPlan | None = None

    def rows(self, samples: np.ndarray) -> np.ndarray:
        """Sorted row positions that ``samples`` cover (windows: unshifted ∪ shifted)."""
        samples = np.asarray(samples, dtype=np.int64)
        if self.kind == "window":
            assert self.window is not None
            return self.window.rows(samples)
        if self.kind == "block":
            return (samples[:, None] * self.block + np.arange(self.block)).ravel()
        return np.sort(samples)

    def cut(
        self, values: np.ndarray, rows: np.ndarray, samples: np.ndarray, shifted: bool = False
    ) -> np.ndarray:
        """Per-sample arrays from ``values`` (one row per position of ``rows``, as :meth:`rows` gave)."""
        if self.kind == "window":
            assert self.window is not None
            return self.window.cut(values, rows, samples, shifted=shifted)
        if self.kind == "block":
            return values.reshape(len(samples), *self.shape, values.shape[-1])
        return values


@dataclass
class FoldArrays:
    """The outcome of one fold's fit.

    ``features``: per feature, split → float32 array; ``label``: split → label array (float32, or
    int64 for ordinal coders; the shifted windows of a windowed feature), or ``None``;
    ``payload``: what ``preprocess.joblib`` holds; ``report``: ``fit_report.json``.
    """

    fold: str
    key_train: str
    features: list[dict[str, np.ndarray]]
    label: dict[str, np.ndarray] | None
    payload: dict[str, Any]
    report: dict[str, Any]


def feature_frame(plan: FeaturePlan) -> tuple[pd.DataFrame, RowLayout]:
    """The feature's columns as a 2-D frame indexed by row position, and its row layout."""
    import pandas as pd

    data = plan.dataset.load(columns=plan.columns)
    if plan.dataset.typ == "tabular":
        frame = data.reset_index(drop=True)
        if plan.window is not None:
            return frame, RowLayout("window", len(frame), window=plan.window)
        return frame, RowLayout("row", len(frame))
    shape = tuple(int(d) for d in data.shape[1:-1])
    frame = pd.DataFrame(data.reshape(-1, data.shape[-1]), columns=plan.columns)
    return frame, RowLayout("block", len(frame), int(np.prod(shape)), shape, shape[-1])


def encode_rows(plan: FeaturePlan, fitted: Sequence[Any], view: pd.DataFrame) -> np.ndarray:
    """Encoded float64 rows of ``view``: each coder's output in chain order, then the leftovers."""
    parts = [
        transform_block(coder, one, column_block(view, coder.matching_columns)).astype(np.float64)
        for coder, one in zip(plan.coders, fitted, strict=True)
    ]
    leftovers = plan.leftover_columns
    if leftovers:
        parts.append(view[leftovers].to_numpy(dtype=np.float64, na_value=np.nan))
    return np.hstack(parts) if parts else np.empty((len(view), 0))


def _coder_report(coder: CoderPlan, fitted: Any, fit_rows: np.ndarray) -> dict[str, Any]:
    return {
        "idx": coder.idx,
        "class": coder.spec["class"],
        "fit_scope": coder.fit_scope,
        "n_rows_fit": len(fit_rows),
        "rows_sha256": rows_sha256(fit_rows),
        "encoding_dimension": coder.encoding_dimension,
        "encoded_column_names": coder.encoded_column_names,
        "attributes": fitted_attributes(fitted),
    }


def _fit_feature(
    plan: FeaturePlan, position: int, samples: Mapping[str, np.ndarray], key_train: str, transform: bool
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None, dict[str, Any], dict[str, Any]]:
    frame, layout = feature_frame(plan)
    rows = {split: layout.rows(idx) for split, idx in samples.items()}
    train_rows = rows[key_train]
    all_rows = np.arange(layout.n_rows)

    def view(split_rows: np.ndarray) -> pd.DataFrame:
        return interpolate_rows(frame, plan.interpolaters, split_rows, train_rows, layout.interpolation_block)

    train_view = view(train_rows)
    all_view: pd.DataFrame | None = None
    fitted, reports = [], []
    for coder in plan.coders:
        fit_rows, fit_view = train_rows, train_view
        if coder.fit_scope == "all":
            all_view = view(all_rows) if all_view is None else all_view
            fit_rows, fit_view = all_rows, all_view
        one = fit_coder(coder, column_block(fit_view, coder.matching_columns), plan.dataset.path)
        fitted.append(one)
        reports.append(_coder_report(coder, one, fit_rows))
    arrays: dict[str, np.ndarray] = {}
    targets: dict[str, np.ndarray] | None = {} if plan.window is not None else None
    if transform:
        for split, idx in samples.items():
            split_view = train_view if split == key_train else view(rows[split])
            encoded = encode_rows(plan, fitted, split_view)
            array = layout.cut(encoded, rows[split], idx)
            arrays[split] = (plan.shaper.apply(array) if plan.shaper is not None else array).astype(
                np.float32
            )
            if targets is not None:
                targets[split] = layout.cut(encoded, rows[split], idx, shifted=True).astype(np.float32)
    payload = {
        "feature_id": plan.feature_id,
        "position": position,
        "columns": plan.columns,
        "coders": [
            {
                "idx": c.idx,
                "class": c.spec["class"],
                "matching_columns": c.matching_columns,
                "encoding_dimension": c.encoding_dimension,
                "fitted": one,
            }
            for c, one in zip(plan.coders, fitted, strict=True)
        ],
        "leftover_columns": plan.leftover_columns,
        "encoded_column_names": plan.encoded_column_names,
    }
    report = {
        "feature_id": plan.feature_id,
        "position": position,
        "train_rows": {"count": len(train_rows), "rows_sha256": rows_sha256(train_rows)},
        "interpolaters": [
            {
                "idx": step.idx,
                "process_separately": step.process_separately,
                "columns": step.matching_columns,
                "n_rows_fit": len(train_rows) if step.process_separately else layout.n_rows,
                "rows_sha256": rows_sha256(train_rows if step.process_separately else all_rows),
            }
            for step in plan.interpolaters
        ],
        "coders": reports,
        "encoded_column_names": plan.encoded_column_names,
    }
    return arrays, targets, payload, report


def _fit_label(
    plan: LabelPlan, samples: Mapping[str, np.ndarray], key_train: str, transform: bool
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    frame = plan.dataset.load(columns=plan.columns).reset_index(drop=True)
    train_rows = np.sort(np.asarray(samples[key_train], dtype=np.int64))
    steps = [plan.interpolater] if plan.interpolater is not None else []

    def view(rows: np.ndarray) -> pd.DataFrame:
        return interpolate_rows(frame, steps, np.sort(np.asarray(rows, dtype=np.int64)), train_rows)

    train_view = view(train_rows)
    coder, fitted, coder_report = plan.coder, None, None
    if coder is not None:
        fit_rows = train_rows if coder.fit_scope == "train" else np.arange(len(frame))
        fit_view = train_view if coder.fit_scope == "train" else view(fit_rows)
        fitted = fit_coder(coder, column_block(fit_view, coder.matching_columns), plan.dataset.path)
        coder_report = _coder_report(coder, fitted, fit_rows)
    arrays: dict[str, np.ndarray] = {}
    if transform:
        for split, idx in samples.items():
            split_view = train_view if split == key_train else view(idx)
            arrays[split] = _label_array(plan, coder, fitted, split_view, split)
    names = coder.encoded_column_names if coder is not None else list(plan.columns)
    payload = {
        "label_id": plan.label_id,
        "columns": plan.columns,
        "unique_classes": plan.unique_classes,
        "coder": None
        if coder is None
        else {
            "class": coder.spec["class"],
            "encoding_dimension": coder.encoding_dimension,
            "is_ordinal": coder.is_ordinal,
            "fitted": fitted,
        },
        "encoded_column_names": names,
    }
    report = {
        "label_id": plan.label_id,
        "train_rows": {"count": len(train_rows), "rows_sha256": rows_sha256(train_rows)},
        "interpolater": None
        if plan.interpolater is None
        else {
            "process_separately": plan.interpolater.process_separately,
            "columns": plan.interpolater.matching_columns,
            "n_rows_fit": len(train_rows) if plan.interpolater.process_separately else len(frame),
        },
        "coder": coder_report,
        "encoded_column_names": names,
    }
    return arrays, payload, report


def _label_array(
    plan: LabelPlan, coder: CoderPlan | None, fitted: Any, view: pd.DataFrame, split: str
) -> np.ndarray:
    if coder is None:
        values = view[plan.columns].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = transform_block(coder, fitted, column_block(view, coder.matching_columns)).astype(np.float64)
    missing = int(np.isnan(values).any(axis=1).sum())
    if coder is not None and coder.is_ordinal:
        if missing:
            raise InputError(
                plan.dataset.path,
                f"label {plan.columns[0]}",
                f"{missing} {split} samples have no class; expected none "
                "(add a label interpolater or drop them)",
            )
        return values[:, 0].astype(np.int64)
    if missing:
        log.warning("label %s: %d %s samples are missing (NaN)", plan.columns, missing, split)
    return values.astype(np.float32)


def fit_fold(
    features: Sequence[FeaturePlan],
    label: LabelPlan | None,
    samples: Mapping[str, Sequence[int] | np.ndarray],
    key_train: str,
    fold: str,
    transform: bool = True,
) -> FoldArrays:
    """Fit every coder of ``features`` and ``label`` for one fold; transform every split of ``samples``.

    ``samples``: split → sample indices (rows, windows or sequences), as in the fold's splits.json
    entry; ``key_train`` names the split the coders are fit on. Coders without an
    ``encoding_dimension`` get one (the registration probe). ``transform=False`` only fits.
    """
    import sklearn

    idx = {split: np.sort(np.asarray(v, dtype=np.int64)) for split, v in samples.items()}
    if key_train not in idx:
        raise ValueError(f"{fold}: key_train {key_train!r} is not one of the splits {sorted(idx)}")
    arrays, payloads, reports = [], [], []
    label_arrays: dict[str, np.ndarray] | None = None
    for position, plan in enumerate(features):
        out, targets, payload, report = _fit_feature(plan, position, idx, key_train, transform)
        arrays.append(out)
        payloads.append(payload)
        reports.append(report)
        if targets is not None:
            label_arrays = targets
    label_payload = label_report = None
    if label is not None:
        label_arrays, label_payload, label_report = _fit_label(label, idx, key_train, transform)
    sizes = {split: len(v) for split, v in idx.items()}
    return FoldArrays(
        fold=fold,
        key_train=key_train,
        features=arrays,
        label=label_arrays if transform else None,
        payload={
            "format": PREPROCESS_FORMAT,
            "sklearn_version": sklearn.__version__,
            "fold": fold,
            "key_train": key_train,
            "features": payloads,
            "label": label_payload,
        },
        report={
            "fold": fold,
            "key_train": key_train,
            "sizes": sizes,
            "sklearn_version": sklearn.__version__,
            "features": reports,
            "label": label_report,
        },
    )


def load_preprocess(path: str | Path) -> dict[str, Any]:
    """The payload of a ``preprocess.joblib`` (see :class:`FoldArrays`); warns on another sklearn."""
    import joblib
    import sklearn

    payload = joblib.load(path)
    if payload.get("format") != PREPROCESS_FORMAT:
        raise InputError(path, "format", f"expected {PREPROCESS_FORMAT}, found {payload.get('format')!r}")
    if payload.get("sklearn_version") != sklearn.__version__:
        log.warning(
            "%s was fit with scikit-learn %s; running %s",
            path,
            payload.get("sklearn_version"),
            sklearn.__version__,
        )
    return payload


def decode_label(payload: Mapping[str, Any], encoded: np.ndarray) -> np.ndarray:
    """Encoded labels (or predictions) back to the label's values, with the fold's fitted coder.

    A one-hot label without coder decodes to its column names; a label without coder is returned
    as it is (one column: 1-D).
    """
    label = payload["label"]
    if label is None:
        raise ValueError("decode_label: the splitset has no label")
    encoded = np.asarray(encoded)
    coder = label["coder"]
    if coder is None:
        if len(label["columns"]) > 1:
            return np.asarray(label["columns"], dtype=object)[encoded.argmax(axis=1)]
        return encoded.reshape(len(encoded), -1)[:, 0]
    plan = CoderPlan(
        0,
        {"class": coder["class"]},
        {},
        False,
        "train",
        list(label["columns"]),
        encoding_dimension=coder["encoding_dimension"],
    )
    return inverse_block(plan, coder["fitted"], encoded)[:, 0]


def prepare_fold(
    store: Store, splits_path: str | Path, fold: str, cache_root: str | Path | None = None
) -> Path:
    """The ``prepare`` stage for one fold (``fold_<i>`` or ``no_fold``); the manifest path.

    Reads splits.json and the registered plans, fits on the fold's train rows, writes
    ``<cache_root>/<fold>/`` atomically (default cache root: ``cache/`` next to splits.json) and
    then records the files in the fold row (``no_fold``: the splitset row).
    """
    from snakelab.store.models import Splitset
    from snakelab.tabular.preprocess.cache import write_fold_cache
    from snakelab.tabular.preprocess.register import load_feature, load_label
    from snakelab.tabular.splits import fold_entry, read_splits

    info = read_splits(splits_path)
    entry = fold_entry(info, fold, splits_path)
    with store.read() as session:
        splitset = session.get(Splitset, info["splitset_id"])
        if splitset is None or splitset.spec_hash != info["spec_hash"]:
            raise InputError(
                splits_path,
                "splitset_id",
                f"expected splitset {info['splitset_id']} with spec {info['spec_hash'][:12]} in store "
                f"{store.masked_url}; run the split stage against this store",
            )
        features = [load_feature(session, f["id"]) for f in info["features"]]
        label = None if info["label"] is None else load_label(session, info["label"]["id"])
    arrays = fit_fold(features, label, entry["samples"], info["keys"]["train"], fold)
    root = Path(cache_root) if cache_root is not None else Path(splits_path).parent / "cache"
    manifest_path = write_fold_cache(root / fold, arrays, info, entry)
    _record(store, root, manifest_path, info, entry, arrays.report)
    return manifest_path


def _record(
    store: Store,
    root: Path,
    manifest: Path,
    info: Mapping[str, Any],
    entry: Mapping[str, Any],
    report: dict[str, Any],
) -> None:
    from snakelab.store.files import sha256_file, stored_path
    from snakelab.store.models import Fold, Splitset

    preprocess = manifest.parent / "preprocess.joblib"
    values = {
        "preprocess_path": stored_path(preprocess),
        "preprocess_sha256": sha256_file(preprocess),
    }
    manifest_values = {"manifest_path": stored_path(manifest), "manifest_sha256": sha256_file(manifest)}
    cache_dir = stored_path(root)

    def unit(session: Any) -> None:
        splitset = session.get(Splitset, info["splitset_id"])
        splitset.cache_dir = cache_dir
        if entry["id"] is None:
            for key, value in values.items():
                setattr(splitset, key, value)
            return
        row = session.get(Fold, entry["id"])
        for key, value in {**values, **manifest_values, "fit_report": report}.items():
            setattr(row, key, value)

    store.transaction(unit)
