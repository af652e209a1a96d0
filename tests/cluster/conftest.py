"""Fixtures for the SLURM cluster tests: a single-node cluster on localhost for the session.

Where the cluster cannot be had (not root, no apt-get, installation failed) the tests are
skipped with the reason, except when ``CI=true``: there they must run, so they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.cluster.slurm import SlurmCluster, SlurmUnavailable, ensure_installed, running_cluster


def _skip_or_fail(reason: str) -> NoReturn:
    """Skip with ``reason``; in CI (``CI=true``) fail with it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"SLURM cluster tests must run in CI but cannot: {reason}", pytrace=False)
    pytest.skip(f"no SLURM test cluster: {reason}")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A running single-node SLURM cluster; daemons are stopped by PID after the session."""
    try:
        ensure_installed()
    except SlurmUnavailable as error:
        _skip_or_fail(str(error))
    if os.geteuid() != 0:
        _skip_or_fail("the test cluster runs munged, slurmctld and slurmd as root, and this is not root")
    with running_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster
