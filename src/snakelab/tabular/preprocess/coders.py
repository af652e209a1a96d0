"""Coders (spec §5): scikit-learn encoders by spec, chained over a feature's columns.

A spec is ``{class: "sklearn.preprocessing.X", params: {...}}`` (the class must live in
``sklearn.preprocessing`` or be listed in ``tabular.allowed_encoders``); the store keeps the spec,
never a fitted instance. Forced params are recorded in ``forced_params`` and logged once:
OneHotEncoder gets ``sparse_output=False``; KBinsDiscretizer with ``encode="onehot"`` (its default)
is rejected. Categorical coders (OneHotEncoder, OrdinalEncoder, LabelEncoder, LabelBinarizer,
MultiLabelBinarizer, Binarizer) are fit on all samples (``fit_scope: all``) so every class is
known, unless ``fit_scope: train``; every other coder is fit on the train rows of the fold only.

A coder is fit on its columns as one 2-D block (``2D_multiColumn``; ``2D_singleColumn`` for one
column), or, if that fails, one instance per column as a 2-D column (``2D_singleColumn``) or as 1-D
values (``1D``; always for LabelEncoder, LabelBinarizer, MultiLabelBinarizer). The first fit decides
and the row keeps the answer (``encoding_dimension``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.tabular.preprocess.filters import ColumnFilter, is_numeric
from snakelab.tabular.preprocess.jsonable import to_json

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("snakelab.tabular")

CATEGORICAL = frozenset(
    {"OneHotEncoder", "OrdinalEncoder", "LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer", "Binarizer"}
)
ONE_D = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer"})
#: coders whose output is one integer class per sample (the label cache stores them as int64).
ORDINAL = frozenset({"OrdinalEncoder", "LabelEncoder"})
FIT_SCOPES = ("auto", "train", "all")
_FEATURE_KEYS = {"class", "params", "include", "dtypes", "columns", "fit_scope"}
_LABEL_KEYS = {"class", "params", "fit_scope"}


@dataclass
class CoderPlan:
    """One coder; the fields are the ``feature_coder``/``label_coder`` columns (``filter``: features)."""

    idx: int
    spec: dict[str, Any]
    forced_params: dict[str, Any]
    is_categorical: bool
    fit_scope: str
    matching_columns: list[str]
    filter: ColumnFilter | None = None
    leftover_columns: list[str] = field(default_factory=list)
    leftover_dtypes: list[str] = field(default_factory=list)
    encoding_dimension: str | None = None
    encoded_column_names: list[str] | None = None

    @property
    def class_name(self) -> str:
        """The class's own name (``StandardScaler``)."""
        return str(self.spec["class"]).rsplit(".", 1)[-1]

    @property
    def is_ordinal(self) -> bool:
        """Whether the output is one integer class per sample (OrdinalEncoder, LabelEncoder)."""
        return self.class_name in ORDINAL

    def new(self) -> Any:
        """A fresh, unfitted instance: the spec's params with the forced params applied."""
        cls = _import_class(str(self.spec["class"]))
        return cls(**{**self.spec.get("params", {}), **self.forced_params})


def _import_class(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def coder_spec(
    spec: Mapping[str, Any], allowed_encoders: Sequence[str], path: str | None, field: str
) -> tuple[dict[str, Any], dict[str, Any], bool, str]:
    """Check a coder spec; ``(spec, forced_params, is_categorical, fit_scope)``.

    The class is imported and instantiated once with the params, so a wrong name or parameter fails
    here (at registration), not in a worker.
    """
    dotted = spec.get("class")
    if not isinstance(dotted, str) or "." not in dotted:
        raise InputError(
            path,
            f"{field}.class",
            f"expected a dotted class name like sklearn.preprocessing.StandardScaler, got {dotted!r}",
        )
    allowed = dotted.rpartition(".")[0] == "sklearn.preprocessing" or dotted in set(allowed_encoders)
    if not allowed:
        raise InputError(
            path,
            f"{field}.class",
            f"{dotted} is not in sklearn.preprocessing nor in tabular.allowed_encoders",
        )
    try:
        cls = _import_class(dotted)
    except (ImportError, AttributeError):
        raise InputError(path, f"{field}.class", f"cannot import {dotted}") from None
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise InputError(path, f"{field}.params", f"expected a mapping, got {params!r}")
    name = dotted.rsplit(".", 1)[-1]
    forced: dict[str, Any] = {}
    if name == "OneHotEncoder":
        forced["sparse_output"] = False
    if name in ("LabelBinarizer", "MultiLabelBinarizer") and params.get("sparse_output"):
        forced["sparse_output"] = False
    try:
        instance = cls(**{**params, **forced})
    except TypeError as exc:
        raise InputError(
            path, f"{field}.params", f"{dotted} does not accept {dict(params)} ({exc})"
        ) from None
    if name == "KBinsDiscretizer" and getattr(instance, "encode", None) == "onehot":
        raise InputError(
            path,
            f"{field}.params.encode",
            "KBinsDiscretizer encode='onehot' (sparse, its default) is not supported; "
            "expected 'onehot-dense' or 'ordinal'",
        )
    if forced:
        log.info("%s: forcing %s (%s)", field, forced, dotted)
    is_categorical = name in CATEGORICAL
    scope = spec.get("fit_scope", "auto") or "auto"
    if scope not in FIT_SCOPES:
        raise InputError(path, f"{field}.fit_scope", f"expected one of {FIT_SCOPES}, got {scope!r}")
    if scope == "all" and not is_categorical:
        raise InputError(
            path,
            f"{field}.fit_scope",
            f"'all' is only for categorical coders; {name} must be fit on train rows",
        )
    fit_scope = "all" if scope == "all" or (scope == "auto" and is_categorical) else "train"
    return {"class": dotted, "params": to_json(dict(params))}, forced, is_categorical, fit_scope


def _check_keys(spec: Any, keys: set[str], path: str | None, field: str) -> None:
    if not isinstance(spec, Mapping):
        raise InputError(path, field, f"expected a mapping with a 'class', got {spec!r}")
    unknown = sorted(set(spec) - keys)
    if unknown:
        raise InputError(path, f"{field}.{unknown[0]}", f"unknown key; expected one of {sorted(keys)}")


def resolve_feature_coders(
    specs: Sequence[Mapping[str, Any]] | None,
    columns: Sequence[str],
    dtype_of: Mapping[str, str],
    allowed_encoders: Sequence[str],
    path: str | None,
    field: str = "input.encoders",
) -> list[CoderPlan]:
    """The coder chain of a feature; each coder's filter selects from the still unused columns.

    The columns left after the last coder pass through unchanged and must be numeric (or bool);
    otherwise the error names them.
    """
    plans: list[CoderPlan] = []
    available = list(columns)
    for idx, spec in enumerate(specs or []):
        where = f"{field}[{idx}]"
        _check_keys(spec, _FEATURE_KEYS, path, where)
        checked, forced, categorical, scope = coder_spec(spec, allowed_encoders, path, where)
        flt = ColumnFilter.from_spec(spec, path, where)
        selected = flt.select(available, dtype_of, path, where)
        available = [c for c in available if c not in selected]
        plans.append(
            CoderPlan(
                idx=idx,
                spec=checked,
                forced_params=forced,
                is_categorical=categorical,
                fit_scope=scope,
                matching_columns=selected,
                filter=flt,
                leftover_columns=list(available),
                leftover_dtypes=[dtype_of[c] for c in available],
            )
        )
    not_numeric = [c for c in available if not is_numeric(dtype_of[c])]
    if not_numeric:
        raise InputError(
            path,
            field,
            f"columns {not_numeric} ({[dtype_of[c] for c in not_numeric]}) are left unencoded; "
            "leftover columns must be numeric: add an encoder for them or exclude them",
        )
    return plans


def resolve_label_coder(
    spec: Mapping[str, Any] | None, columns: Sequence[str], allowed_encoders: Sequence[str], path: str | None
) -> CoderPlan | None:
    """The label's coder (at most one), on all label columns."""
    if spec is None:
        return None
    field = "target.encoder"
    _check_keys(spec, _LABEL_KEYS, path, field)
    checked, forced, categorical, scope = coder_spec(spec, allowed_encoders, path, field)
    return CoderPlan(
        idx=0,
        spec=checked,
        forced_params=forced,
        is_categorical=categorical,
        fit_scope=scope,
        matching_columns=list(columns),
    )


# -- fit and transform -----------------------------------------------------------------------------


def column_block(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The 2-D values of ``columns``: numpy numbers/bools as they are, else objects (``nan`` = missing)."""
    import pandas as pd

    part = frame[list(columns)]
    if all(isinstance(t, np.dtype) and t.kind in "biuf" for t in part.dtypes):
        return part.to_numpy()
    if all(pd.api.types.is_numeric_dtype(t) for t in part.dtypes):
        return part.to_numpy(dtype="float64", na_value=np.nan)
    return part.astype(object).where(part.notna(), np.nan).to_numpy(dtype=object)


def _dense(values: Any) -> np.ndarray:
    if hasattr(values, "toarray"):
        values = values.toarray()
    values = np.asarray(values)
    return values.reshape(-1, 1) if values.ndim == 1 else values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fit_as(plan: CoderPlan, block: np.ndarray, dimension: str) -> Any:
    if dimension == "1D":
        return [plan.new().fit(block[:, j]) for j in range(block.shape[1])]
    if dimension == "2D_singleColumn" and block.shape[1] > 1:
        return [plan.new().fit(block[:, [j]]) for j in range(block.shape[1])]
    return plan.new().fit(block)


def transform_block(plan: CoderPlan, fitted: Any, block: np.ndarray) -> np.ndarray:
    """The encoded 2-D output of a fitted coder on its columns' values."""
    if plan.encoding_dimension == "1D":
        return np.hstack([_dense(f.transform(block[:, j])) for j, f in enumerate(fitted)])
    if isinstance(fitted, list):
        return np.hstack([_dense(f.transform(block[:, [j]])) for j, f in enumerate(fitted)])
    return _dense(fitted.transform(block))


def inverse_block(plan: CoderPlan, fitted: Any, encoded: np.ndarray) -> np.ndarray:
    """Decode a coder's output back to its columns' values (labels: for predictions.parquet).

    Works for a coder fit as one block or on a single column (the label case).
    """
    one = fitted[0] if isinstance(fitted, list) and len(fitted) == 1 else fitted
    if isinstance(one, list):
        raise ValueError(
            f"{plan.class_name}: decoding a per-column coder of several columns is not supported"
        )
    encoded = np.asarray(encoded)
    if plan.encoding_dimension == "1D" and encoded.ndim == 2 and encoded.shape[1] == 1:
        encoded = encoded[:, 0]
    elif plan.encoding_dimension != "1D" and encoded.ndim == 1:
        encoded = encoded.reshape(-1, 1)
    return _dense(one.inverse_transform(encoded))


def fit_coder(plan: CoderPlan, block: np.ndarray, path: str | None = None) -> Any:
    """Fit ``plan`` on ``block`` (rows × matching columns); the fitted instance or per-column list.

    When the plan has no ``encoding_dimension`` yet, the dimensions are tried in order (see the
    module docstring) and the plan's ``encoding_dimension`` is set; ``encoded_column_names`` is
    set when missing.
    """
    if plan.encoding_dimension is not None:
        fitted = _fit_as(plan, block, plan.encoding_dimension)
        if plan.encoded_column_names is None:
            width = transform_block(plan, fitted, block[:1]).shape[1]
            plan.encoded_column_names = output_names(plan, fitted, width)
        return fitted
    single = "2D_singleColumn"
    order = (
        ["1D"]
        if plan.class_name in ONE_D
        else (["2D_multiColumn", single, "1D"] if block.shape[1] > 1 else [single, "1D"])
    )
    errors = []
    for dimension in order:
        try:
            fitted = _fit_as(plan, block, dimension)
            plan.encoding_dimension = dimension
            output = transform_block(plan, fitted, block[:2])
        except (ValueError, TypeError) as exc:
            plan.encoding_dimension = None
            errors.append(f"{dimension}: {_first_line(exc)}")
            continue
        plan.encoded_column_names = output_names(plan, fitted, output.shape[1])
        return fitted
    raise InputError(
        path,
        f"coder {plan.idx} ({plan.spec['class']})",
        f"cannot fit on {plan.matching_columns}: {'; '.join(errors)}",
    )


def output_names(plan: CoderPlan, fitted: Any, width: int) -> list[str]:
    """The coder's output column names (``get_feature_names_out`` where the coder has it)."""
    columns = plan.matching_columns
    if isinstance(fitted, list):
        names: list[str] = []
        for column, one in zip(columns, fitted, strict=True):
            names.extend(_names_of(one, [column], None))
        return names if len(names) == width else [f"{plan.class_name}_{i}" for i in range(width)]
    return _names_of(fitted, list(columns), width)


def _names_of(fitted: Any, columns: list[str], width: int | None) -> list[str]:
    if hasattr(fitted, "get_feature_names_out"):
        try:
            names = [str(n) for n in fitted.get_feature_names_out(columns)]
            if width is None or len(names) == width:
                return names
        except (ValueError, TypeError, AttributeError):
            pass
    classes = getattr(fitted, "classes_", None)
    if classes is not None and len(columns) == 1 and len(classes) > 2:
        out = _dense(fitted.transform(np.asarray(classes[:1])))
        if out.shape[1] == len(classes):
            return [f"{columns[0]}_{c}" for c in classes]
    if width is None or width == len(columns):
        return list(columns)
    return [f"{columns[0]}_{i}" for i in range(width)]


def fitted_attributes(fitted: Any) -> Any:
    """The public fitted attributes (names ending in ``_``) as JSON; a list for per-column coders."""
    if isinstance(fitted, list):
        return [fitted_attributes(f) for f in fitted]
    return {
        name: to_json(value)
        for name, value in sorted(vars(fitted).items())
        if name.endswith("_") and not name.startswith("_") and not name.endswith("__")
    }
