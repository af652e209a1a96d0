import os

import pytest

from snakelab.core.errors import InputError
from snakelab.core.threads import limit_threads


def test_limit_threads_sets_unset_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    limit_threads(4)
    assert os.environ["OMP_NUM_THREADS"] == "4"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_limit_threads_rejects_zero() -> None:
    with pytest.raises(InputError, match=r"^--threads: expected an integer >= 1, got 0$"):
        limit_threads(0)
