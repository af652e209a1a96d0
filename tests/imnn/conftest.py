"""Fixtures of the imnn tests: float64 JAX inside a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def x64() -> Iterator[None]:
    """Run the test with ``jax_enable_x64`` on (restored afterwards)."""
    import jax

    with jax.enable_x64(True):
        yield
