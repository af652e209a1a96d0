"""Splits and folds (spec §6), every seed stored; the ``split`` stage and its ``splits.json``.

Samples are rows, windows (windowed feature) or sequences/images. The stratify array is the label
before encoding (a one-hot label → the index of its 1); floats are cut into ``bin_count`` (default 3)
quantile bins (``pd.qcut(..., labels=False, duplicates="drop")``), ints are classes unless
``bin_count`` is set, strings/bools/categories are classes. Unsupervised: the
``unsupervised_stratify_col`` reduced per window/sequence (median for numbers, mode otherwise), or no
stratification. Missing stratify values form their own class.

- test: ``train_test_split(idx, test_size=size_test, stratify=s, random_state=split_seed, shuffle=True)``;
- validation: the same on the rest with ``test_size = size_validation / (1 − size_test)``, s re-derived
  on that part (continuous values re-binned), same split_seed;
- folds: ``StratifiedKFold(fold_count, shuffle=True, random_state=fold_seed)`` over train, s re-derived
  (``KFold`` when unstratified); a fold holds ``folds_train_combined`` and ``fold_validation`` (sorted)
  and copies of ``validation``/``test``.

Errors name the class and its count: a class with fewer than 2 members cannot be stratified; more
folds than the smallest train class is an error. Iris with size_test 0.22 and 5 folds: train 117,
test 33, fold_validation sizes 24, 24, 23, 23, 23.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import write_bytes
from snakelab.core.errors import InputError
from snakelab.tabular import seeds
from snakelab.tabular.datasets import Dataset

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from snakelab.store.core import Store
    from snakelab.tabular.preprocess.features import FeaturePlan
    from snakelab.tabular.preprocess.labels import LabelPlan

log = logging.getLogger("snakelab.tabular")

SPLITS_FORMAT = "snakelab-splits-v1"
STRATIFIER_KEYS = ("size_test", "size_validation", "fold_count", "bin_count", "unsupervised_stratify_col")
NO_FOLD = "no_fold"


# -- the stratifier --------------------------------------------------------------------------------


def _fraction(value: Any, path: str | None, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InputError(path, field, f"expected a fraction in (0, 1), got {value!r}")
    return float(value)


def _count(value: Any, path: str | None, field: str, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(path, field, f"expected an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class StratifierSpec:
    """The Stratifier section: split sizes (fractions of all samples), folds and binning."""

    size_test: float | None = None
    size_validation: float | None = None
    fold_count: int | None = None
    bin_count: int | None = None
    unsupervised_stratify_col: str | None = None

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any] | None, path: str | None = None) -> StratifierSpec:
        """Check a stratifier section; ``fold_count`` 0 means no folds."""
        spec = dict(spec or {})
        unknown = sorted(set(spec) - set(STRATIFIER_KEYS))
        if unknown:
            raise InputError(
                path, f"stratifier.{unknown[0]}", f"unknown key; expected one of {list(STRATIFIER_KEYS)}"
            )
        test = _fraction(spec.get("size_test"), path, "stratifier.size_test")
        validation = _fraction(spec.get("size_validation"), path, "stratifier.size_validation")
        if (test or 0.0) + (validation or 0.0) >= 1:
            raise InputError(
                path,
                "stratifier.size_validation",
                f"expected size_test + size_validation < 1, got {test} + {validation}",
            )
        folds = spec.get("fold_count")
        column = spec.get("unsupervised_stratify_col")
        if column is not None and not isinstance(column, (str, int)):
            raise InputError(
                path, "stratifier.unsupervised_stratify_col", f"expected a column name, got {column!r}"
            )
        return cls(
            size_test=test,
            size_validation=validation,
            fold_count=None if folds in (None, 0) else _count(folds, path, "stratifier.fold_count", 2),
            bin_count=_count(spec.get("bin_count"), path, "stratifier.bin_count", 2),
            unsupervised_stratify_col=None if column is None else str(column),
        )

    def to_dict(self) -> dict[str, Any]:
        """The section as a plain mapping (every key)."""
        return asdict(self)

    @property
    def hash(self) -> str:
        """sha256 of the section (:func:`snakelab.tabular.seeds.stratifier_hash`)."""
        return seeds.stratifier_hash(self.to_dict())


# -- stratify arrays and splits --------------------------------------------------------------------


@dataclass
class Strata:
    """Stratification codes (``None``: unstratified), their names, and the bins actually made."""

    codes: np.ndarray | None
    names: dict[int, str] = field(default_factory=dict)
    bin_count: int | None = None


def stratify_codes(values: np.ndarray | None, bin_count: int | None, path: str | None = None) -> Strata:
    """Codes for ``values`` (see the module docstring); ``Strata(None)`` when unstratified."""
    import pandas as pd

    if values is None:
        return Strata(None)
    values = np.asarray(values)
    if values.dtype.kind == "f" or (values.dtype.kind in "iu" and bin_count is not None):
        binned = pd.qcut(values.astype(np.float64), q=bin_count or 3, labels=False, duplicates="drop")
        binned = np.asarray(binned, dtype=np.float64)
        if np.isnan(binned).all():
            return Strata(None)
        codes = np.where(np.isnan(binned), -1, binned).astype(np.int64)
        names = {int(c): ("missing" if c < 0 else f"bin {int(c)}") for c in np.unique(codes)}
        return Strata(codes, names, int((np.unique(codes) >= 0).sum()))
    if bin_count is not None:
        raise InputError(
            path,
            "stratifier.bin_count",
            f"expected null: the stratify values ({values.dtype}) are classes, not numbers",
        )
    codes, uniques = pd.factorize(
        pd.Series(values, dtype=object if values.dtype.kind in "OUS" else None), sort=True
    )
    names = {i: str(u) for i, u in enumerate(uniques)}
    if (codes < 0).any():
        names[-1] = "missing"
    return Strata(np.asarray(codes, dtype=np.int64), names)


@dataclass
class Splits:
    """Sample indices of every split (sorted) and fold, the keys, and how they were stratified."""

    n_samples: int
    samples: dict[str, np.ndarray]
    folds: list[dict[str, np.ndarray]]
    keys: dict[str, str | None]
    stratified: bool
    bin_count: int | None
    warnings: list[str] = field(default_factory=list)


def _check_members(strata: Strata, minimum: int, path: str | None, field: str, what: str) -> None:
    if strata.codes is None:
        return
    classes, counts = np.unique(strata.codes, return_counts=True)
    smallest = int(np.argmin(counts))
    if counts[smallest] < minimum:
        name = strata.names.get(int(classes[smallest]), str(classes[smallest]))
        raise InputError(
            path, field, f"class {name!r} has {int(counts[smallest])} {what}; {minimum} needed to stratify"
        )


def _split(
    idx: np.ndarray, strata: Strata, size: float, seed: int, path: str | None, field: str
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    _check_members(strata, 2, path, field, "member(s)")
    try:
        keep, held = train_test_split(
            idx, test_size=size, stratify=strata.codes, random_state=seed, shuffle=True
        )
    except ValueError as exc:
        raise InputError(path, field, str(exc).splitlines()[0]) from None
    return np.sort(keep), np.sort(held)


def make_splits(
    n_samples: int,
    values: np.ndarray | None,
    spec: StratifierSpec,
    split_seed: int,
    fold_seed: int,
    path: str | None = None,
) -> Splits:
    """Split ``n_samples`` samples stratified on ``values`` (one per sample, or ``None``)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    warnings: list[str] = []
    strata = stratify_codes(values, spec.bin_count, path)
    if values is not None and strata.codes is None:
        warnings.append("stratify values are constant (all quantile bins collapse): splitting unstratified")
    stratified = strata.codes is not None

    def rederive(subset: np.ndarray) -> Strata:
        return (
            stratify_codes(values[subset], spec.bin_count, path)
            if stratified and values is not None
            else Strata(None)
        )

    samples: dict[str, np.ndarray] = {}
    train = np.arange(n_samples)
    if spec.size_test is not None:
        train, samples["test"] = _split(
            train, strata, spec.size_test, split_seed, path, "stratifier.size_test"
        )
    if spec.size_validation is not None:
        size = spec.size_validation / (1.0 - (spec.size_test or 0.0))
        train, samples["validation"] = _split(
            train, rederive(train), size, split_seed, path, "stratifier.size_validation"
        )
    samples["train"] = train
    folds: list[dict[str, np.ndarray]] = []
    if spec.fold_count is not None:
        k = spec.fold_count
        fold_strata = rederive(train)
        if k > len(train):
            raise InputError(
                path,
                "stratifier.fold_count",
                f"{k} folds need at least {k} train samples, found {len(train)}",
            )
        _check_members(
            fold_strata, k, path, "stratifier.fold_count", f"train sample(s), fewer than fold_count {k}"
        )
        if len(train) % k:
            warnings.append(f"{len(train)} train samples do not divide into {k} equal folds")
        splitter = (
            StratifiedKFold(k, shuffle=True, random_state=fold_seed)
            if fold_strata.codes is not None
            else KFold(k, shuffle=True, random_state=fold_seed)
        )
        for fit_part, held in splitter.split(train, fold_strata.codes):
            fold = {"folds_train_combined": np.sort(train[fit_part]), "fold_validation": np.sort(train[held])}
            fold.update({s: samples[s] for s in ("validation", "test") if s in samples})
            folds.append(fold)
    evaluation = (
        "fold_validation"
        if folds
        else "validation"
        if "validation" in samples
        else "test"
        if "test" in samples
        else None
    )
    keys = {
        "train": "folds_train_combined" if folds else "train",
        "evaluation": evaluation,
        "test": "test" if "test" in samples else None,
    }
    for warning in warnings:
        log.warning("%s", warning)
    return Splits(n_samples, samples, folds, keys, stratified, strata.bin_count, warnings)


def sizes(samples: Mapping[str, Sequence[int]], n_samples: int) -> dict[str, dict[str, Any]]:
    """``{split: {count, percent}}`` (percent of all samples, 4 decimals)."""
    return {s: {"count": len(v), "percent": round(100.0 * len(v) / n_samples, 4)} for s, v in samples.items()}


# -- the split stage -------------------------------------------------------------------------------


def _dataset_key(dataset: Dataset) -> str:
    return dataset.name if dataset.name is not None else dataset.content_hash


def _reduce(values: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """One value per group of rows: median (numbers) or the smallest mode (anything else)."""
    import pandas as pd

    if values.dtype.kind in "biuf":
        return np.array([np.nanmedian(values[g].astype(np.float64)) for g in groups])
    return np.array([pd.Series(values[g]).mode().sort_values().iloc[0] for g in groups], dtype=object)


def _unsupervised_values(plan: FeaturePlan, column: str) -> tuple[np.ndarray, str | None]:
    dataset = plan.dataset
    if column not in (dataset.columns or []):
        raise InputError(
            dataset.path,
            "stratifier.unsupervised_stratify_col",
            f"unknown column {column!r}; expected one of {dataset.columns}",
        )
    if dataset.typ == "tabular":
        values = dataset.load(columns=[column])[column].to_numpy()
        if plan.window is None:
            return values, None
        groups = [np.arange(a, b) for a, b in plan.window.samples_unshifted]
    else:
        array = dataset.load(columns=[column])
        values = array.reshape(-1)
        block = int(np.prod(array.shape[1:]))
        groups = [np.arange(i * block, (i + 1) * block) for i in range(array.shape[0])]
    reduced = _reduce(values, groups)
    return reduced, "median" if values.dtype.kind in "biuf" else "mode"


def _n_samples(features: Sequence[FeaturePlan], label: LabelPlan | None) -> int:
    first = features[0]
    if first.window is not None:
        return first.window.window_count
    counts = {p.dataset.n_samples for p in features} | (
        {label.dataset.n_samples} if label is not None else set()
    )
    if len(counts) != 1:
        raise InputError(
            first.dataset.path,
            "input",
            f"features and label disagree on the number of samples: {sorted(counts)}",
        )
    return counts.pop()


def _sample_unit(plan: FeaturePlan) -> str:
    if plan.window is not None:
        return "window"
    return {"tabular": "row", "sequence": "sequence", "image": "image"}[plan.dataset.typ]


def _feature_spec(plan: FeaturePlan) -> dict[str, Any]:
    return {
        "dataset": [plan.dataset.id, plan.dataset.content_hash],
        "columns": plan.columns,
        "interpolaters": [
            [
                i.process_separately,
                i.interpolate_kwargs,
                None if i.filter is None else i.filter.to_json(),
                i.matching_columns,
            ]
            for i in plan.interpolaters
        ],
        "coders": [
            [
                c.spec,
                c.forced_params,
                None if c.filter is None else c.filter.to_json(),
                c.matching_columns,
                c.fit_scope,
            ]
            for c in plan.coders
        ],
        "window": None
        if plan.window is None
        else [plan.window.size_window, plan.window.size_shift, plan.window.record_shifted],
        "shaper": None if plan.shaper is None else plan.shaper.reshape_indices,
    }


def _label_spec(plan: LabelPlan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    step, coder = plan.interpolater, plan.coder
    return {
        "dataset": [plan.dataset.id, plan.dataset.content_hash],
        "columns": plan.columns,
        "interpolater": None if step is None else [step.process_separately, step.interpolate_kwargs],
        "coder": None if coder is None else [coder.spec, coder.forced_params, coder.fit_scope],
    }


def spec_hash(features: Sequence[FeaturePlan], label: LabelPlan | None, stratifier: StratifierSpec) -> str:
    """sha256 of everything that defines a splitset except its seeds (datasets by id and content)."""
    body = {
        "format": SPLITS_FORMAT,
        "features": [_feature_spec(p) for p in features],
        "label": _label_spec(label),
        "stratifier": stratifier.to_dict(),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve_pipeline(
    inputs: Sequence[tuple[Dataset, Mapping[str, Any]]],
    target: tuple[Dataset, Mapping[str, Any]] | None,
    allowed_encoders: Sequence[str] = (),
) -> tuple[list[FeaturePlan], LabelPlan | None]:
    """Feature and label plans of a pipeline (label columns leave a same-dataset feature)."""
    from snakelab.tabular.preprocess.features import resolve_feature
    from snakelab.tabular.preprocess.labels import resolve_label

    if not inputs:
        raise InputError(None, "input", "expected at least one Input")
    label = resolve_label(target[0], target[1], allowed_encoders) if target is not None else None
    features = []
    for dataset, spec in inputs:
        same = label is not None and label.dataset.id == dataset.id
        features.append(
            resolve_feature(dataset, spec, label.columns if same and label else (), allowed_encoders)
        )
    windowed = [p for p in features if p.window is not None]
    if windowed and (len(features) > 1 or label is not None):
        raise InputError(
            features[0].dataset.path,
            "input.window",
            "a windowed feature is self-supervised: expected it as the only Input and no Target",
        )
    return features, label


def create_splitset(
    store: Store,
    name: str,
    inputs: Sequence[tuple[Dataset, Mapping[str, Any]]],
    target: tuple[Dataset, Mapping[str, Any]] | None,
    stratifier: Mapping[str, Any] | None,
    seed: int = 0,
    output: str | Path | None = None,
    allowed_encoders: Sequence[str] = (),
    description: str | None = None,
) -> dict[str, Any]:
    """The ``split`` stage: plans, splits and folds → store rows → ``splits.json``; its content.

    ``inputs``: (dataset, Input section) per feature; ``target``: (dataset, Target section) or
    ``None`` (unsupervised); ``seed``: the root seed (``tabular.seed``). Everything is checked
    before anything is written; all rows are inserted in one unit of work. An identical splitset
    (same spec hash and seeds) is reused, so a rerun writes byte-identical ``splits.json``.
    """
    from snakelab.tabular.preprocess.fit import fit_fold
    from snakelab.tabular.preprocess.labels import stratify_source

    features, label = resolve_pipeline(inputs, target, allowed_encoders)
    path = features[0].dataset.path
    spec = StratifierSpec.from_mapping(stratifier, path)
    n = _n_samples(features, label)
    stratify: dict[str, Any] = {"source": "none", "column": None, "reduce": None}
    values = None
    if label is not None:
        values = stratify_source(label)
        stratify.update(source="label", column=",".join(label.columns))
    elif spec.unsupervised_stratify_col is not None:
        values, reduce = _unsupervised_values(features[0], spec.unsupervised_stratify_col)
        stratify.update(source="column", column=spec.unsupervised_stratify_col, reduce=reduce)
    label_columns = None if label is None else label.columns
    split_seed = seeds.split_seed(seed, _dataset_key(features[0].dataset), label_columns, spec.hash)
    fold_seed = seeds.fold_seed(seed, _dataset_key(features[0].dataset), label_columns, spec.hash)
    splits = make_splits(n, values, spec, split_seed, fold_seed, path)
    if not splits.stratified:
        stratify.update(source="none", reduce=None)
    first = splits.folds[0] if splits.folds else splits.samples
    fit_fold(features, label, first, splits.keys["train"], fold="probe", transform=False)
    digest = spec_hash(features, label, spec)

    def unit(session: Session) -> dict[str, Any]:
        return _store_rows(
            session, name, description, features, label, spec, splits, stratify, digest, split_seed, fold_seed
        )

    rows = store.transaction(unit)
    content = _content(name, seed, features, label, spec, rows)
    if output is not None:
        output = Path(output)
        data = (json.dumps(content, sort_keys=True, indent=1) + "\n").encode("utf-8")
        write_bytes(output, data)
        _record_indices(store, rows["splitset_id"], output, hashlib.sha256(data).hexdigest())
    return content


def _store_rows(
    session: Session,
    name: str,
    description: str | None,
    features: Sequence[FeaturePlan],
    label: LabelPlan | None,
    spec: StratifierSpec,
    splits: Splits,
    stratify: dict[str, Any],
    digest: str,
    split_seed: int,
    fold_seed: int,
) -> dict[str, Any]:
    from sqlalchemy import select, text

    from snakelab.store.models import Fold, Splitset, splitset_feature
    from snakelab.tabular.preprocess.register import insert_feature, insert_label

    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    query = select(Splitset).where(
        Splitset.spec_hash == digest, Splitset.split_seed == split_seed, Splitset.fold_seed == fold_seed
    )
    row = session.scalars(query).first()
    created = row is None
    if row is None:
        label_id = insert_label(session, label, name) if label is not None else None
        feature_ids = [insert_feature(session, plan, name) for plan in features]
        row = Splitset(
            name=name,
            description=description,
            label_id=label_id,
            size_test=spec.size_test,
            size_validation=spec.size_validation,
            fold_count=spec.fold_count or 0,
            bin_count=splits.bin_count,
            stratify=stratify,
            supervision="supervised" if label is not None else "unsupervised",
            has_validation="validation" in splits.samples,
            key_train=splits.keys["train"],
            key_evaluation=splits.keys["evaluation"],
            key_test=splits.keys["test"],
            split_seed=split_seed,
            fold_seed=fold_seed,
            samples={s: v.tolist() for s, v in splits.samples.items()},
            sizes=sizes(splits.samples, splits.n_samples),
            spec_hash=digest,
        )
        session.add(row)
        session.flush()
        session.execute(
            splitset_feature.insert(),
            [{"splitset_id": row.id, "feature_id": f, "position": i} for i, f in enumerate(feature_ids)],
        )
        for idx, fold in enumerate(splits.folds):
            session.add(
                Fold(
                    splitset_id=row.id,
                    idx=idx,
                    name=f"fold_{idx}",
                    samples={s: v.tolist() for s, v in fold.items()},
                )
            )
        session.flush()
    else:
        log.info("identical splitset: reusing splitset %d (%s)", row.id, row.name)
    positions = session.execute(
        select(splitset_feature.c.feature_id)
        .where(splitset_feature.c.splitset_id == row.id)
        .order_by(splitset_feature.c.position)
    ).scalars()
    folds = session.scalars(select(Fold).where(Fold.splitset_id == row.id).order_by(Fold.idx)).all()
    return {
        "splitset_id": row.id,
        "spec_hash": row.spec_hash,
        "created": created,
        "label_id": row.label_id,
        "feature_ids": list(positions),
        "samples": dict(row.samples),
        "sizes": dict(row.sizes),
        "keys": {"train": row.key_train, "evaluation": row.key_evaluation, "test": row.key_test},
        "split_seed": int(row.split_seed),
        "fold_seed": int(row.fold_seed),
        "bin_count": row.bin_count,
        "stratify": dict(row.stratify or {}),
        "supervision": row.supervision,
        "folds": [{"id": f.id, "idx": f.idx, "name": f.name, "samples": dict(f.samples)} for f in folds],
    }


def _content(
    name: str,
    seed: int,
    features: Sequence[FeaturePlan],
    label: LabelPlan | None,
    spec: StratifierSpec,
    rows: Mapping[str, Any],
) -> dict[str, Any]:
    datasets = {p.dataset.id: p.dataset for p in features}
    if label is not None:
        datasets.setdefault(label.dataset.id, label.dataset)
    n = features[0].window.window_count if features[0].window is not None else features[0].dataset.n_samples
    window = features[0].window
    return {
        "format": SPLITS_FORMAT,
        "pipeline": name,
        "splitset_id": rows["splitset_id"],
        "spec_hash": rows["spec_hash"],
        "seeds": {"root": seed, "split_seed": rows["split_seed"], "fold_seed": rows["fold_seed"]},
        "datasets": [
            {"id": d.id, "name": d.name, "version": d.version, "typ": d.typ, "content_hash": d.content_hash}
            for d in datasets.values()
        ],
        "features": [
            {"id": f_id, "position": i, "dataset_id": p.dataset.id, "columns": p.columns}
            for i, (f_id, p) in enumerate(zip(rows["feature_ids"], features, strict=True))
        ],
        "label": None
        if label is None
        else {"id": rows["label_id"], "dataset_id": label.dataset.id, "columns": label.columns},
        "supervision": rows["supervision"],
        "sample_unit": _sample_unit(features[0]),
        "n_samples": n,
        "stratifier": spec.to_dict(),
        "stratify": rows["stratify"],
        "bin_count": rows["bin_count"],
        "keys": rows["keys"],
        "evaluation_is_test": rows["keys"]["evaluation"] == "test",
        "samples": rows["samples"],
        "sizes": rows["sizes"],
        "folds": [{**f, "sizes": sizes(f["samples"], n)} for f in rows["folds"]],
        "window": None
        if window is None
        else {
            "size_window": window.size_window,
            "size_shift": window.size_shift,
            "record_shifted": window.record_shifted,
            "window_count": window.window_count,
            "lead": window.lead,
            "samples_unshifted": window.samples_unshifted,
            "samples_shifted": window.samples_shifted,
        },
    }


def _record_indices(store: Store, splitset_id: int, path: Path, sha256: str) -> None:
    from snakelab.store.files import stored_path
    from snakelab.store.models import Splitset

    stored = stored_path(path)

    def unit(session: Session) -> None:
        row = session.get(Splitset, splitset_id)
        row.indices_path, row.indices_sha256 = stored, sha256

    store.transaction(unit)


# -- reading splits.json ---------------------------------------------------------------------------


def read_splits(path: str | Path) -> dict[str, Any]:
    """The content of a ``splits.json``."""
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            path, "splits", f"expected a splits.json written by the split stage ({exc})"
        ) from None
    if content.get("format") != SPLITS_FORMAT:
        raise InputError(path, "format", f"expected {SPLITS_FORMAT}, found {content.get('format')!r}")
    return content


def fold_names(splits: Mapping[str, Any]) -> list[str]:
    """``["fold_0", …]``, or ``["no_fold"]`` without folds (the prepare rule's ``fold`` wildcard)."""
    return [f["name"] for f in splits["folds"]] or [NO_FOLD]


def fold_entry(splits: Mapping[str, Any], fold: str, path: str | Path | None = None) -> dict[str, Any]:
    """``{id, idx, name, samples}`` of ``fold`` (``no_fold``: id None, idx -1, the splitset's samples)."""
    if fold == NO_FOLD and not splits["folds"]:
        return {"id": None, "idx": -1, "name": NO_FOLD, "samples": splits["samples"]}
    for entry in splits["folds"]:
        if entry["name"] == fold:
            return dict(entry)
    raise InputError(path, "fold", f"no fold {fold!r}; expected one of {fold_names(splits)}")
