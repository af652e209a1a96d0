"""The sample cache of a fold (spec §5, AIQC's layout), written atomically as one directory.

``cache/{fold_<i>|no_fold}/<split>/{feature_<n>.npy,label.npy}`` plus ``preprocess.joblib``,
``fit_report.json`` and, last, ``manifest.json``, which lists every file with its shape, dtype and
sha256 (paths relative to the fold directory). Features are float32; labels float32 (one-hot,
regression, shifted windows) or int64 (ordinal coders, 1-D).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import atomic_directory
from snakelab.core.errors import InputError

if TYPE_CHECKING:
    from snakelab.tabular.preprocess.fit import FoldArrays

MANIFEST_FORMAT = "snakelab-cache-v1"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=1, allow_nan=False) + "\n").encode("utf-8")


def _save(directory: Path, relative: str, array: np.ndarray) -> dict[str, Any]:
    target = directory / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    np.save(target, np.ascontiguousarray(array), allow_pickle=False)
    return {"path": relative, "shape": list(array.shape), "dtype": array.dtype.str, "sha256": _sha256(target)}


def write_fold_cache(
    fold_dir: str | Path, arrays: FoldArrays, splits: Mapping[str, Any], entry: Mapping[str, Any]
) -> Path:
    """Write ``fold_dir`` (replacing an older one only when complete); the manifest path.

    ``splits``: the splits.json content; ``entry``: its entry for this fold (:func:`fold_entry`).
    """
    import joblib

    fold_dir = Path(fold_dir)
    split_names = sorted(arrays.features[0]) if arrays.features else []
    with atomic_directory(fold_dir) as tmp:
        files: dict[str, dict[str, Any]] = {}
        for split in split_names:
            entries = {
                f"feature_{n}": _save(tmp, f"{split}/feature_{n}.npy", feature[split])
                for n, feature in enumerate(arrays.features)
            }
            if arrays.label is not None:
                entries["label"] = _save(tmp, f"{split}/label.npy", arrays.label[split])
            files[split] = {"samples": int(arrays.features[0][split].shape[0]), "files": entries}
        joblib.dump(arrays.payload, tmp / "preprocess.joblib")
        (tmp / "fit_report.json").write_bytes(_json_bytes(arrays.report))
        manifest = {
            "format": MANIFEST_FORMAT,
            "fold": arrays.fold,
            "fold_id": entry.get("id"),
            "fold_idx": entry.get("idx"),
            "splitset_id": splits["splitset_id"],
            "keys": splits["keys"],
            "splits": files,
            "features": [
                {
                    "feature_id": payload["feature_id"],
                    "position": payload["position"],
                    "encoded_column_names": payload["encoded_column_names"],
                    "sample_shape": list(feature[split_names[0]].shape[1:]) if split_names else None,
                }
                for payload, feature in zip(arrays.payload["features"], arrays.features, strict=True)
            ],
            "label": _label_entry(arrays),
            "preprocess": {"path": "preprocess.joblib", "sha256": _sha256(tmp / "preprocess.joblib")},
            "fit_report": {"path": "fit_report.json", "sha256": _sha256(tmp / "fit_report.json")},
        }
        (tmp / "manifest.json").write_bytes(_json_bytes(manifest))
    return fold_dir / "manifest.json"


def _label_entry(arrays: FoldArrays) -> dict[str, Any] | None:
    if arrays.label is None:
        return None
    first = next(iter(arrays.label.values()))
    label = arrays.payload["label"]
    if label is None:
        return {
            "label_id": None,
            "columns": None,
            "unique_classes": None,
            "encoded_column_names": None,
            "dtype": first.dtype.str,
            "sample_shape": list(first.shape[1:]),
            "windowed": True,
        }
    return {
        "label_id": label["label_id"],
        "columns": label["columns"],
        "unique_classes": label["unique_classes"],
        "encoded_column_names": label["encoded_column_names"],
        "dtype": first.dtype.str,
        "sample_shape": list(first.shape[1:]),
        "windowed": False,
    }


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a fold cache."""
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise InputError(path, "format", f"expected {MANIFEST_FORMAT}, found {manifest.get('format')!r}")
    return manifest


def load_fold_cache(
    manifest_path: str | Path, splits: Sequence[str] | None = None, verify: bool = False, mmap: bool = False
) -> dict[str, dict[str, Any]]:
    """``{split: {"features": [array per feature], "label": array | None}}`` of a fold cache.

    ``splits``: the splits to load (default all); ``verify``: check every file's sha256 first;
    ``mmap``: memory-map the arrays read-only.
    """
    manifest_path = Path(manifest_path)
    manifest = read_manifest(manifest_path)
    root = manifest_path.parent
    out: dict[str, dict[str, Any]] = {}
    for split in splits or sorted(manifest["splits"]):
        if split not in manifest["splits"]:
            raise InputError(
                manifest_path, "splits", f"no split {split!r}; expected one of {sorted(manifest['splits'])}"
            )
        files = manifest["splits"][split]["files"]
        arrays = {}
        for key, meta in files.items():
            path = root / meta["path"]
            if verify and _sha256(path) != meta["sha256"]:
                raise InputError(path, "sha256", f"expected {meta['sha256']} (manifest), the file changed")
            arrays[key] = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        count = sum(1 for key in files if key.startswith("feature_"))
        out[split] = {
            "features": [arrays[f"feature_{n}"] for n in range(count)],
            "label": arrays.get("label"),
        }
    return out
