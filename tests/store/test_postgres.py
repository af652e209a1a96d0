"""A6: the store on PostgreSQL (a throwaway local server started by a session fixture).

The fixture finds ``initdb``/``pg_ctl`` (``PATH``, ``/usr/lib/postgresql/*/bin``), installing Debian's
``postgresql`` with apt-get when they are missing and we are root. It runs the server as the
``postgres`` user (``runuser``) when root, on a temporary directory it owns, without fsync (``-F``).
Without a server the tests are skipped, except under CI (``CI=true`` or ``SNAKELAB_REQUIRE_POSTGRES=1``),
where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from snakelab.store.core import open_store
from snakelab.store.models import Base
from snakelab.store.schema import downgrade, upgrade
from snakelab.store.versioning import register_dataset
from tests.store.datasets import dataset_values, race
from tests.store.scenario import run_a3

pytestmark = pytest.mark.postgres


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("SNAKELAB_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(f"PostgreSQL is required here (CI): {reason}")
    pytest.skip(reason)


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            _unavailable(f"'{' '.join(command)}' failed: {proc.stderr.strip().splitlines()[-1:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL (without database) of a PostgreSQL server on 127.0.0.1 with a trusted superuser ``snakelab``."""
    bindir = _bindir()
    root = os.geteuid() == 0
    if bindir is None:
        if not root or shutil.which("apt-get") is None:
            _unavailable(
                "PostgreSQL is not installed (no pg_ctl) and cannot be installed here (needs root + apt-get)"
            )
        _install()
        bindir = _bindir()
        if bindir is None:
            _unavailable(
                "apt-get installed postgresql but no pg_ctl was found under /usr/lib/postgresql/*/bin"
            )
    base = Path(tempfile.mkdtemp(prefix="snakelab-pg-"))
    as_owner: list[str] = []
    if root:
        shutil.chown(base, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*command: str) -> None:
        proc = subprocess.run([*as_owner, *command], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            _unavailable(f"{command[0]} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "snakelab", "-E", "UTF8", "--no-sync")
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=60"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-o", options, "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "snakelab", "store")
        yield f"postgresql+psycopg://snakelab@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """URL of a new, empty database on the session's server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{pg_server}/store", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{pg_server}/{name}"


def test_upgrade_downgrade_upgrade(pg_url: str) -> None:
    store = open_store(pg_url, create=True)
    engine = store.raw_engine()
    assert upgrade(engine, pg_url) == "0002"
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        types = dict(
            connection.execute(
                text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'run'")
            ).all()
        )
        assert types["config"] == "jsonb" and types["started_at"] == "timestamp with time zone"
        assert types["seed"] == "bigint" and types["duration_s"] == "double precision"
        partial = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_dataset_unnamed_content'")
        ).scalar()
        assert partial.endswith("WHERE (name IS NULL)")
    assert {fk["referred_table"] for fk in inspect(engine).get_foreign_keys("splitset")} == {
        "label",
        "predictor",
    }
    assert downgrade(engine, pg_url, "base") is None
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert upgrade(engine, pg_url) == "0002"
    assert len(inspect(engine).get_table_names()) == 24
    engine.dispose()


def test_engine_options(pg_url: str) -> None:
    store = open_store(pg_url, create=True)
    engine = store.engine
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._pre_ping) == (1, 2, True)
    with store.read() as session:
        assert session.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
    pgbouncer = open_store(pg_url, config={"pool": None})
    assert type(pgbouncer.engine.pool).__name__ == "NullPool"
    store.dispose()
    pgbouncer.dispose()


def test_dataset_versions_and_dedup(pg_url: str) -> None:
    store = open_store(pg_url, create=True)
    v1, created = register_dataset(store, dataset_values("one"))
    again, created_again = register_dataset(store, dataset_values("one"))
    v2, _ = register_dataset(store, dataset_values("two"))
    assert (created, created_again, again.id, v2.version) == (True, False, v1.id, 2)
    a, _ = register_dataset(store, dataset_values("x", name=None))
    b, created_b = register_dataset(store, dataset_values("x", name=None))
    assert a.id == b.id and not created_b
    store.dispose()
    same = race(pg_url, [["same"]] * 4)
    assert sorted((version, created) for _, version, created in same) == [(1, False)] * 3 + [(1, True)]
    own = race(pg_url, [[f"own-{i}"] for i in range(4)])
    assert sorted(version for _, version, _ in own) == [2, 3, 4, 5]


def test_lineage_round_trip(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(pg_url, create=True)
    (tmp_path / "in.txt").write_text("x")
    with store.run(pipeline="p", kind="k", config={"a": [1, 2]}, seed=3, inputs={"data": "in.txt"}) as run:
        run.log_metric("loss", float("nan"), step=1)
        run.log_metric("loss", 0.5, step=2)
    record = store.find_run(run.uid)
    assert record.config == {"a": [1, 2]} and [m.value for m in record.metrics] == [None, 0.5]
    assert record.inputs[0].path == "in.txt" and record.started_at.tzinfo is not None
    store.dispose()


@pytest.mark.slow
def test_a3_eight_writers_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    summary, stderr = run_a3(pg_url, tmp_path / "out", "--procs", "8", "--units", "200")
    assert summary["exit_codes"] == [0] * 8 and summary["outcomes"] == ["ran"] * 8
    assert (summary["runs"], summary["succeeded"], summary["metrics"]) == (1600, 1600, 4800)
    assert "Traceback" not in stderr
    print(f"A3 PostgreSQL: {summary}")


def test_two_processes_registering_one_uid_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    summary, _ = run_a3(pg_url, tmp_path / "out", "--procs", "2", "--same-uid")
    assert summary["exit_codes"] == [0, 0] and summary["runs"] == 1
    assert summary["outcomes"].count("ran") == 1
