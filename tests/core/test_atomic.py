import os
from pathlib import Path

import pytest

from snakelab.core.atomic import atomic_directory, atomic_path, write_bytes, write_text


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "table.tsv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.endswith(".tmp.tsv")
        tmp.write_text("a\tb\n")
        assert not target.exists()
    assert target.read_text() == "a\tb\n"
    assert _leftovers(target.parent, {"table.tsv"}) == []


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.h5"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half-written")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path, {"out.h5"}) == []


def test_write_text_and_bytes_replace_existing(tmp_path: Path) -> None:
    assert write_text(tmp_path / "a.json", "{}") == tmp_path / "a.json"
    write_text(tmp_path / "a.json", '{"x": 1}')
    assert (tmp_path / "a.json").read_text() == '{"x": 1}'
    write_bytes(tmp_path / "selected_plate", b"3")
    assert (tmp_path / "selected_plate").read_bytes() == b"3"
    assert _leftovers(tmp_path, {"a.json", "selected_plate"}) == []


def test_atomic_directory_replaces_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "analysis"
    with atomic_directory(target) as tmp:
        (tmp / "summary_statistics.json").write_text("1")
        assert not target.exists()
    assert sorted(p.name for p in target.iterdir()) == ["summary_statistics.json"]

    with pytest.raises(KeyboardInterrupt), atomic_directory(target) as tmp:
        (tmp / "partial.pdf").write_text("x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in target.iterdir()) == ["summary_statistics.json"]

    with atomic_directory(target) as tmp:
        (tmp / "new.pdf").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new.pdf"]
    assert _leftovers(tmp_path, {"analysis"}) == []


def test_outputs_get_umask_permissions_not_mkstemp_private_ones(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "shared.json", "{}")
        with atomic_directory(tmp_path / "analysis"):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "shared.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "analysis").stat().st_mode & 0o777 == 0o755


def test_special_files_are_written_in_place_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text(fifo, "3")
        assert os.read(reader, 10) == b"3"
    finally:
        os.close(reader)
    assert fifo.is_fifo()
    assert _leftovers(tmp_path, {"pipe"}) == []


def test_symlinked_target_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "store" / "table.tsv"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "table.tsv"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
