"""Store URL resolution and masking, ``store.*`` settings, and the network-filesystem refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakelab.store.core import open_store
from snakelab.store.errors import NetworkFilesystemError, StoreConfigError
from snakelab.store.netfs import check_local_filesystem, filesystem_of, is_network_fs
from snakelab.store.settings import StoreSettings
from snakelab.store.url import DEFAULT_URL, mask_url, normalise_url, resolve_url

ENV = {"SNAKELAB_STORE_URL": "sqlite:///env.sqlite"}
CONFIG = {"url": "postgresql://me:secret@db.example/store"}


@pytest.mark.parametrize(
    ("flag", "environ", "config", "url", "source"),
    [
        ("sqlite:///flag.sqlite", ENV, CONFIG, "sqlite:///flag.sqlite", "--store"),
        (None, ENV, CONFIG, "sqlite:///env.sqlite", "SNAKELAB_STORE_URL"),
        (None, {}, CONFIG, "postgresql+psycopg://me:secret@db.example/store", "store.url"),
        (None, {}, {"url": None}, DEFAULT_URL, "default"),
        (None, {"SNAKELAB_STORE_URL": ""}, None, DEFAULT_URL, "default"),
        ("", ENV, None, "sqlite:///env.sqlite", "SNAKELAB_STORE_URL"),
    ],
)
def test_first_url_set_wins(flag, environ, config, url, source) -> None:
    resolved = resolve_url(flag, config, environ)
    assert (resolved.url, resolved.source) == (url, source)


def test_default_is_relative_to_the_working_directory() -> None:
    assert DEFAULT_URL == "sqlite:///results/snakelab.sqlite"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://me:s3cr%40t@db:5432/store", "postgresql+psycopg://me:***@db:5432/store"),
        ("postgresql://me@db/store", "postgresql://me@db/store"),
        (
            "postgresql://db/store?user=me&password=pw&sslmode=require",
            "postgresql://db/store?user=me&password=***&sslmode=require",
        ),
        ("sqlite:///results/snakelab.sqlite", "sqlite:///results/snakelab.sqlite"),
    ],
)
def test_passwords_are_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3cr" not in resolve_url(url).masked


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////abs/s.sqlite", "sqlite:////abs/s.sqlite"),
    ],
)
def test_normalise(url: str, normal: str) -> None:
    assert normalise_url(url) == normal


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", "in-memory SQLite store cannot be shared"),
        ("sqlite:///:memory:", "in-memory SQLite store cannot be shared"),
        ("mysql://u:pw@h/d", "mysql://u:***@h/d: expected sqlite:///<file> or postgresql://"),
        ("results/store.sqlite", "expected sqlite:///<file>"),
    ],
)
def test_bad_urls_name_the_source_and_expectation(url: str, expected: str) -> None:
    with pytest.raises(StoreConfigError, match=r"^--store: ") as info:
        resolve_url(url)
    assert expected in str(info.value)
    assert "pw" not in str(info.value)


def test_settings_defaults_and_overrides() -> None:
    assert StoreSettings.from_config(None) == StoreSettings()
    defaults = StoreSettings()
    assert (defaults.busy_timeout_ms, defaults.retry_seconds, defaults.flush_seconds) == (60000, 300.0, 30.0)
    assert (defaults.stale_after_s, defaults.auto_upgrade, defaults.allow_network_fs, defaults.pool) == (
        3600.0,
        True,
        False,
        "default",
    )
    custom = StoreSettings.from_config({"url": None, "busy_timeout_ms": 50, "pool": None, "retry_seconds": 1})
    assert (custom.busy_timeout_ms, custom.pool, custom.retry_seconds) == (50, None, 1.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"busy_timeout": 5}, "store.busy_timeout: unknown setting"),
        ({"busy_timeout_ms": -1}, "store.busy_timeout_ms: expected an integer >= 0, got -1"),
        ({"busy_timeout_ms": True}, "store.busy_timeout_ms: expected an integer"),
        ({"retry_seconds": "soon"}, "store.retry_seconds: expected a number of seconds >= 0, got 'soon'"),
        ({"auto_upgrade": "yes"}, "store.auto_upgrade: expected true or false, got 'yes'"),
        ({"pool": "big"}, "store.pool: expected 'default' or null, got 'big'"),
    ],
)
def test_bad_settings_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(StoreConfigError) as info:
        StoreSettings.from_config(section)
    assert str(info.value).startswith(message)


MOUNTINFO = r"""22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:44 / /shared/lab rw,relatime shared:30 - nfs4 filer:/export/lab rw,vers=4.2
41 22 0:45 / /scratch rw,relatime shared:31 - lustre 10.0.0.1@tcp:/scratch rw
42 41 0:46 / /scratch/local\040disk rw,relatime shared:32 - xfs /dev/nvme0n1 rw
43 22 0:47 / /ceph rw - fuse.ceph ceph-fuse rw
"""


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/home/me/results/snakelab.sqlite", ("ext4", "/")),
        ("/shared/lab/results/snakelab.sqlite", ("nfs4", "/shared/lab")),
        ("/scratch/run1/x.sqlite", ("lustre", "/scratch")),
        ("/scratch/local disk/x.sqlite", ("xfs", "/scratch/local disk")),
        ("/ceph/x.sqlite", ("fuse.ceph", "/ceph")),
    ],
)
def test_filesystem_from_mountinfo(path: str, found: tuple[str, str]) -> None:
    assert filesystem_of(path, MOUNTINFO) == found


def test_network_filesystems() -> None:
    assert all(
        map(is_network_fs, ["nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "beegfs", "ceph", "fuse.ceph"])
    )
    assert not any(map(is_network_fs, ["ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs"]))


def test_sqlite_on_nfs_is_refused_unless_allowed() -> None:
    with pytest.raises(NetworkFilesystemError) as info:
        check_local_filesystem("/shared/lab/results/snakelab.sqlite", allow=False, mountinfo=MOUNTINFO)
    message = str(info.value)
    assert message.startswith("/shared/lab/results/snakelab.sqlite: SQLite store on a nfs4 filesystem")
    assert "postgresql://" in message and "store.allow_network_fs: true" in message
    check_local_filesystem("/shared/lab/results/snakelab.sqlite", allow=True, mountinfo=MOUNTINFO)
    check_local_filesystem("/home/me/snakelab.sqlite", allow=False, mountinfo=MOUNTINFO)


def test_open_store_refuses_on_first_use(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, workdir: Path
) -> None:
    import snakelab.store.netfs as netfs

    monkeypatch.setattr(netfs, "filesystem_of", lambda path, mountinfo=None: ("lustre", "/"))
    store = open_store(sqlite_url, create=True)  # lazy: no check, no file yet
    with pytest.raises(NetworkFilesystemError, match="lustre"):
        store.ensure_schema()
    assert list(workdir.iterdir()) == []
    allowed = open_store(sqlite_url, create=True, config={"allow_network_fs": True})
    allowed.ensure_schema()
    assert allowed.current_revision() == "0002"
