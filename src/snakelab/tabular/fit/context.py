"""The run context: which seed (and analysis type) the fit loops of the current run use.

The runner enters :func:`run_context` around one run; :func:`keras_fit`, :func:`torch_fit` and the demo's
``build_sklearn`` read it with :func:`current_run`, so user ``fn_train`` functions keep AIQC's signature
and still shuffle from the run's seed. :func:`seed_frameworks` seeds the libraries themselves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger(__name__)

ANALYSIS_TYPES = ("classification_binary", "classification_multi", "regression")


@dataclass(frozen=True)
class RunContext:
    """The current run: ``seed`` (non-negative int < 2**32), ``analysis_type`` and run ``key`` (optional)."""

    seed: int
    analysis_type: str | None = None
    key: str | None = None

    @property
    def is_classification(self) -> bool | None:
        """True/False from ``analysis_type``; None when it is not set."""
        if self.analysis_type is None:
            return None
        return self.analysis_type.startswith("classification")


_current: ContextVar[RunContext | None] = ContextVar("snakelab_tabular_run", default=None)


def current_run() -> RunContext:
    """The :class:`RunContext` set by the enclosing :func:`run_context`.

    Raises ``RuntimeError`` outside one: a fit loop must never fall back to an unrecorded seed.
    """
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError(
            "no tabular run context: call the fit function inside "
            "snakelab.tabular.fit.run_context(seed=...) (the runner does this for every run)"
        )
    return ctx


@contextmanager
def run_context(seed: int, analysis_type: str | None = None, key: str | None = None) -> Iterator[RunContext]:
    """Make ``RunContext(seed, analysis_type, key)`` the current run inside the block."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"run seed must be an integer in [0, 2**32), got {seed!r}")
    if analysis_type is not None and analysis_type not in ANALYSIS_TYPES:
        raise ValueError(f"analysis_type must be one of {ANALYSIS_TYPES}, got {analysis_type!r}")
    token = _current.set(RunContext(seed, analysis_type, key))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def seed_frameworks(seed: int, library: str, deterministic: bool = True, threads: int | None = None) -> None:
    """Seed and configure the framework of ``library`` (keras | pytorch | sklearn) for one run (§7 step 3).

    keras: ``keras.utils.set_random_seed`` (Python, NumPy and TensorFlow), op determinism, TF intra/inter-op
    threads; pytorch: ``torch.manual_seed``, ``use_deterministic_algorithms``, ``set_num_threads``; sklearn:
    nothing to seed (estimators take ``random_state`` from :func:`current_run`). ``threads`` also sets
    ``OMP_NUM_THREADS`` for libraries started later. TensorFlow fixes its thread pools when it first runs an
    op; a later different value is logged and ignored.
    """
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    if library == "keras":
        import keras
        import tensorflow as tf

        if threads is not None:
            _set_tf_threads(tf, threads)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(seed)
    elif library == "pytorch":
        import torch

        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        torch.manual_seed(seed)
    elif library != "sklearn":
        raise ValueError(f"library must be keras, pytorch or sklearn, got {library!r}")


def _set_tf_threads(tf: object, threads: int) -> None:
    threading = tf.config.threading  # type: ignore[attr-defined]
    if (
        threading.get_intra_op_parallelism_threads() == threads
        and threading.get_inter_op_parallelism_threads() == threads
    ):
        return
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        log.warning("TensorFlow is already initialised; keeping its thread pools (asked for %d)", threads)
