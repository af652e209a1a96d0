"""Model files per ``model_format`` (keras | torch_state | joblib) and atomic run directories (§7 step 7).

Every file is written under a unique temporary name in its target directory and renamed when complete
(AIQC wrote every Keras model through the fixed name ``temp_keras_model.h5``, so concurrent workers
overwrote each other's models: D8). ``torch_state`` files hold no pickled code: a dict of tensors and
plain values, loaded with ``torch.load(weights_only=True)`` and rebuilt through the ``fn_build`` reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakelab.core.atomic import atomic_path
from snakelab.store.files import sha256_file

MODEL_FILES = {"keras": "model.keras", "torch_state": "model.pt", "joblib": "model.joblib"}
LIBRARY_FORMATS = {"keras": "keras", "pytorch": "torch_state", "sklearn": "joblib"}


@dataclass(frozen=True)
class SavedModel:
    """A written model file: ``path``, ``model_format``, ``sha256`` (hex) and size in ``bytes``."""

    path: Path
    model_format: str
    sha256: str
    bytes: int


def model_format_of(library: str) -> str:
    """The ``model_format`` of a library: keras → keras, pytorch → torch_state, sklearn → joblib."""
    try:
        return LIBRARY_FORMATS[library]
    except KeyError:
        raise ValueError(f"library must be one of {sorted(LIBRARY_FORMATS)}, got {library!r}") from None


def model_filename(model_format: str) -> str:
    """The file name of a model in a run directory (``model.keras`` | ``model.pt`` | ``model.joblib``)."""
    try:
        return MODEL_FILES[model_format]
    except KeyError:
        raise ValueError(f"model_format must be one of {sorted(MODEL_FILES)}, got {model_format!r}") from None


def _shape_list(shape: Any) -> list[Any]:
    """A per-sample shape (tuple) or a list of shapes (several features) as JSON-able nested lists."""
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [[int(d) for d in s] for s in shape]
    return [int(d) for d in shape]


def shape_from_list(shape: Sequence[Any]) -> tuple[int, ...] | list[tuple[int, ...]]:
    """Inverse of the stored form: a list of ints → tuple; a list of lists → list of tuples."""
    if shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [tuple(int(d) for d in s) for s in shape]
    return tuple(int(d) for d in shape)


def save_model(
    model: Any,
    directory: str | os.PathLike[str],
    model_format: str,
    *,
    optimizer: Any = None,
    fn_build: str | None = None,
    hp: Mapping[str, Any] | None = None,
    features_shape: Any = None,
    label_shape: Any = None,
) -> SavedModel:
    """Write ``model`` to ``directory/<model_filename(model_format)>`` atomically; return its digest.

    ``torch_state`` needs ``fn_build`` (``module:qualname``), ``hp``, ``features_shape`` and ``label_shape``
    to rebuild the module on load; ``optimizer`` (its state dict) is optional.
    """
    target = Path(directory) / model_filename(model_format)
    with atomic_path(target) as tmp:
        if model_format == "keras":
            model.save(tmp)
        elif model_format == "torch_state":
            _save_torch(model, tmp, optimizer, fn_build, hp, features_shape, label_shape)
        else:
            import joblib

            joblib.dump(model, tmp)
    return SavedModel(target, model_format, sha256_file(target), target.stat().st_size)


def _save_torch(
    model: Any,
    path: Path,
    optimizer: Any,
    fn_build: str | None,
    hp: Mapping[str, Any] | None,
    features_shape: Any,
    label_shape: Any,
) -> None:
    import torch

    if fn_build is None or features_shape is None or label_shape is None:
        raise ValueError("torch_state models need fn_build, features_shape and label_shape to be rebuilt")
    state = {
        "state_dict": model.state_dict(),
        "optimizer_state_dict": None if optimizer is None else optimizer.state_dict(),
        "fn_build": fn_build,
        "hp": dict(hp or {}),
        "shapes": {"features": _shape_list(features_shape), "label": _shape_list(label_shape)},
    }
    torch.save(state, path)


def load_model(
    path: str | os.PathLike[str], model_format: str, build: Callable[..., Any] | None = None
) -> Any:
    """Load a model written by :func:`save_model`.

    ``keras``: ``keras.models.load_model(compile=False)``; ``joblib``: ``joblib.load``; ``torch_state``:
    ``torch.load(weights_only=True)``, then ``build(features_shape, label_shape, **hp)`` (default: the
    stored ``fn_build`` reference, imported) and ``load_state_dict``; the module is returned in eval mode.
    """
    model_filename(model_format)
    if model_format == "keras":
        import keras

        return keras.models.load_model(path, compile=False)
    if model_format == "joblib":
        import joblib

        return joblib.load(path)
    import torch

    state = torch.load(path, weights_only=True)
    if build is None:
        from snakelab.tabular.algorithms.references import resolve_reference

        build = resolve_reference(state["fn_build"], "fn_build")
    shapes = state["shapes"]
    model = build(shape_from_list(shapes["features"]), shape_from_list(shapes["label"]), **state["hp"])
    model.load_state_dict(state["state_dict"])
    model.eval()
    return model
