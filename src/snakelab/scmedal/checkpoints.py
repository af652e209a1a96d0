"""TensorFlow checkpoints of a model (spec §4): ``cp-<epoch:04d>.ckpt.{index,data-00000-of-00001}``
written with ``tf.train.Checkpoint`` over every state variable, plus the ``checkpoint`` state file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _checkpoint(model: Any) -> Any:
    import tensorflow as tf

    variables = [getattr(v, "value", v) for v in model.state_variables()]
    return tf.train.Checkpoint(**{f"var_{i:03d}": v for i, v in enumerate(variables)})


def write(model: Any, directory: str | Path, epoch: int) -> str:
    """Write the model's current variables as ``<directory>/cp-<epoch:04d>.ckpt``; return that prefix name."""
    name = f"cp-{epoch:04d}.ckpt"
    _checkpoint(model).write(str(Path(directory) / name))
    return name


def write_state_file(directory: str | Path, names: Sequence[str], current: str) -> None:
    """The ``checkpoint`` text file naming ``current`` (what ``tf.train.latest_checkpoint`` reads)."""
    lines = [f'model_checkpoint_path: "{current}"'] + [f'all_model_checkpoint_paths: "{n}"' for n in names]
    (Path(directory) / "checkpoint").write_text("\n".join(lines) + "\n", encoding="utf-8")


def restore(model: Any, prefix: str | Path) -> None:
    """Load a checkpoint written by :func:`write` into ``model`` (same architecture)."""
    _checkpoint(model).read(str(prefix)).assert_consumed()


def latest(directory: str | Path) -> str:
    """Prefix of the checkpoint the state file names (the best, or last, epoch)."""
    import tensorflow as tf

    return tf.train.latest_checkpoint(str(directory))
