"""Thread limits for numerical libraries, set before any of them is imported.

A Snakemake job gets ``threads`` cores; BLAS, OpenMP and the frameworks must not start more, or
parallel jobs oversubscribe the machine.
"""

from __future__ import annotations

import os

from snakelab.core.errors import InputError

_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def limit_threads(n: int) -> None:
    """Set the thread-count variables of BLAS/OpenMP/TensorFlow to ``n`` (≥ 1) for this process.

    Effective only for libraries imported afterwards; the CLI calls it before any stage runs.
    A variable the user already set is left alone.
    Idle OpenMP threads also sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``): spinning threads
    made 2-thread torch training 10-30x slower as soon as another job shared the cores.
    """
    if n < 1:
        raise InputError(None, "--threads", f"expected an integer >= 1, got {n}")
    for name in _VARIABLES:
        os.environ.setdefault(name, str(n))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
