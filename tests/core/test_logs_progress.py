import logging
from pathlib import Path

import pytest

from snakelab.core.logs import log_stream, setup_logging
from snakelab.core.progress import enable_progress, progress


@pytest.fixture(autouse=True)
def _reset_logging():
    yield
    setup_logging(None)
    enable_progress(False)


def test_messages_go_to_the_log_file_and_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "logs" / "batchie" / "train_0.log"
    log_file.parent.mkdir(parents=True)
    log_file.write_text("attempt 1\n")
    setup_logging(log_file)
    logging.getLogger("snakelab.batchie").info("sweep %d of %d", 3, 10)
    logging.getLogger("snakelab.batchie").debug("hidden")
    lines = log_file.read_text().splitlines()
    assert lines[0] == "attempt 1"
    assert lines[1].endswith("INFO snakelab.batchie: sweep 3 of 10")
    assert len(lines) == 2
    assert capsys.readouterr().err == "info: sweep 3 of 10\n"


def test_verbose_logs_debug(tmp_path: Path) -> None:
    setup_logging(tmp_path / "x.log", verbose=True)
    logging.getLogger("snakelab").debug("detail")
    assert "DEBUG snakelab: detail" in (tmp_path / "x.log").read_text()


def test_progress_bar_is_written_to_the_log_only_when_enabled(tmp_path: Path) -> None:
    setup_logging(tmp_path / "p.log")
    assert list(progress(range(5), desc="chains")) == [0, 1, 2, 3, 4]
    assert (tmp_path / "p.log").read_text() == ""
    enable_progress(True)
    assert sum(progress(range(100), desc="sweeps", unit="sweep")) == 4950
    log_stream().flush()
    text = (tmp_path / "p.log").read_text()
    assert "sweeps: 100%" in text
    assert "100/100" in text
