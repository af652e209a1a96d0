"""The batchie benchmark's helpers (snakelab.batchie.bench) on tiny inputs; no timing assertions."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from snakelab.batchie.bench import (
    ChildError,
    Figure,
    StageRun,
    format_figure_row,
    format_figures,
    format_stages,
    format_value,
    median_seconds,
    parse_snakemake_jobs,
    ratio,
    resample_thetas,
    run_child,
    stage_argv,
    time_concat,
    time_gibbs_sweeps,
    verdict,
    write_distance_chunks,
)
from snakelab.batchie.distance import MSEDistance
from snakelab.batchie.models.sparse_combo import StackedThetas
from snakelab.batchie.synthetic import make_synthetic, small_preset
from snakelab.core.seeds import rng


def _thetas(K: int, C: int, M: int, D: int, seed: int = 0) -> StackedThetas:
    g = np.random.default_rng(seed)
    return StackedThetas(
        W=g.normal(size=(K, C, D)),
        W0=g.normal(size=(K, C)),
        V0=g.normal(size=(K, M)),
        V1=g.normal(size=(K, M, D)),
        V2=g.normal(size=(K, M, D)),
        alpha=g.normal(size=K),
        precision=g.uniform(10, 50, size=K),
    )


@pytest.fixture(scope="module")
def small_screen():
    return make_synthetic(**small_preset())[0]


def test_ratio_uses_low_end_of_reference() -> None:
    assert ratio(Figure("a", "s", 0.5, (26.5, 26.5), 0.53)) == 53.0
    assert ratio(Figure("demo", "s", 20.0, (124.0, 243.0), 12.4)) == 6.2
    assert ratio(Figure("rss", "MB", 105.0, (2100.0, 2100.0), 525.0)) == 20.0
    assert ratio(Figure("jobs", "calls", 35.0, (33.0, 33.0))) is None
    assert ratio(Figure("none", "s", 1.0)) is None
    assert ratio(Figure("failed", "s", None, (1.0, 1.0), 1.0)) is None


def test_verdict() -> None:
    assert verdict(Figure("a", "s", 0.53, (26.5, 26.5), 0.53)) == "PASS"
    assert verdict(Figure("a", "s", 0.5300001, (26.5, 26.5), 0.53)) == "FAIL"
    assert verdict(Figure("a", "s", 2.0, None, 2.0, strict=True)) == "FAIL"
    assert verdict(Figure("a", "s", 1.999, None, 2.0, strict=True)) == "PASS"
    assert verdict(Figure("a", "s", 5.0, (1.0, 2.0))) == "-"
    assert verdict(Figure("a", "s", None, (1.0, 2.0), 3.0)) == "ERROR"


def test_format_value() -> None:
    assert format_value(0.06512, "s") == "0.065 s"
    assert format_value(23.34, "s") == "23.3 s"
    assert format_value(6.254, "ms") == "6.25 ms"
    assert format_value(109.7, "MB") == "110 MB"
    assert format_value(35.0, "calls") == "35"
    assert format_value(None, "s") == "-"


def test_format_figure_row() -> None:
    row = format_figure_row(Figure("demo wall", "s", 20.0, (124.0, 243.0), 12.4))
    expected = f"{'demo wall':<62}{'124-243 s':>14}{'20.0 s':>12}{'6.2x':>8}{'<= 12.4 s':>13}  FAIL"
    assert row == expected
    row = format_figure_row(Figure("concat", "s", 0.077, (524.0, 524.0), 1.0))
    assert row == f"{'concat':<62}{'524.0 s':>14}{'0.077 s':>12}{'6805x':>8}{'<= 1.000 s':>13}  PASS"
    row = format_figure_row(Figure("help", "s", 0.12, (8.0, 12.0), 2.0, strict=True))
    assert row.endswith(f"{'8-12 s':>14}{'0.120 s':>12}{'66.7x':>8}{'< 2.000 s':>13}  PASS")
    row = format_figure_row(Figure("jobs", "calls", 35.0, (33.0, 33.0)))
    assert row == f"{'jobs':<62}{'33':>14}{'35':>12}{'-':>8}{'-':>13}  -"


def test_format_figures_lists_rows_then_notes() -> None:
    figures = [Figure("a", "ms", 6.0, (65.0, 65.0), 6.5), Figure("b", "s", None, note="snakemake failed")]
    lines = format_figures(figures).splitlines()
    assert lines[0].startswith("figure") and lines[0].endswith("target  result")
    assert set(lines[1]) == {"-"}
    assert lines[2] == format_figure_row(figures[0]) and lines[2].endswith("PASS")
    assert lines[3].endswith("ERROR")
    assert lines[4] == "  note: b: snakemake failed"
    assert len(lines) == 5


def test_format_stages_median_wall_and_max_rss() -> None:
    runs = [
        StageRun("score", 0.7, 100.0),
        StageRun("select", 0.3, 45.0),
        StageRun("score", 0.5, 110.0),
        StageRun("score", 0.9, 105.0),
    ]
    lines = format_stages(runs).splitlines()
    assert lines[2] == f"{'score':<34}{3:>5}{0.7:>10.3f}{110.0:>13.1f}  2100 (this scale)"
    assert lines[3] == f"{'select':<34}{1:>5}{0.3:>10.3f}{45.0:>13.1f}  86-89 (demo)"
    assert len(lines) == 4


def test_parse_snakemake_jobs() -> None:
    log = "\n".join(
        [
            "Finished jobid: 3 (Rule: batchie_train)",
            "1 of 4 steps (25%) done",
            "Finished jobid: 2 (Rule: batchie_train)",
            "Finished jobid: 1 (Rule: batchie_prepare)",
            "3 of 4 steps (75%) done",
            "Finished jobid: 0 (Rule: all)",
            "4 of 4 steps (100%) done",
        ]
    )
    assert parse_snakemake_jobs(log) == (4, {"all": 1, "batchie_prepare": 1, "batchie_train": 2})
    assert parse_snakemake_jobs("Nothing to be done.") == (None, {})


def test_stage_argv() -> None:
    argv = stage_argv(
        "score", data="s.h5", thetas=["t0.h5", "t1.h5"], scorer_param="max_triples=5000", seed=0
    )
    assert argv == [
        "batchie",
        "score",
        "--data",
        "s.h5",
        "--thetas",
        "t0.h5",
        "t1.h5",
        "--scorer-param",
        "max_triples=5000",
        "--seed",
        "0",
    ]


def test_median_seconds_calls_warmup_plus_repeats() -> None:
    calls = []
    seconds = median_seconds(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6
    assert seconds > 0


def test_run_child_reports_the_childs_own_peak_rss(tmp_path: Path) -> None:
    held = np.ones(40 * 2**20)  # 320 MiB in this process: must not show up in the child's figure
    held[::512] = 2.0
    small, _ = run_child([sys.executable, "-c", "pass"], "small", tmp_path)
    big, text = run_child(
        [sys.executable, "-c", "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"],
        "big",
        tmp_path,
    )
    assert held.sum() > 0
    assert small.label == "small" and small.wall_s > 0
    assert small.peak_rss_mb < 100
    assert 200 <= big.peak_rss_mb < 300
    assert text.strip() == "ok"


def test_run_child_raises_on_failure(tmp_path: Path) -> None:
    with pytest.raises(ChildError, match="exited with 3"):
        run_child([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], "fail", tmp_path)


def test_time_gibbs_sweeps_is_positive(small_screen) -> None:
    assert time_gibbs_sweeps(small_screen, dims=2, warmup=1, sweeps=3) > 0


def test_resample_thetas_draws_whole_thetas() -> None:
    stacked = _thetas(K=7, C=3, M=4, D=2)
    out = resample_thetas(stacked, 20, seed=5)
    picks = rng(5, 20).choice(7, size=20, replace=True)
    assert out.n_thetas == 20
    for name in StackedThetas._fields:
        np.testing.assert_array_equal(getattr(out, name), getattr(stacked, name)[picks])


def test_concat_of_chunk_files_equals_one_chunk(small_screen, tmp_path: Path) -> None:
    C = small_screen.experiment_space.n_samples
    M = small_screen.experiment_space.n_treatments
    stacked = _thetas(K=9, C=C, M=M, D=2, seed=1)
    paths = write_distance_chunks(stacked, small_screen, 5, tmp_path / "chunks")
    assert [p.name for p in paths] == [f"distance_matrix_chunk_{k}.h5" for k in range(5)]
    seconds, dense = time_concat(paths, repeats=2)
    whole = MSEDistance().distance_matrix_chunk(stacked, small_screen).to_dense()
    assert seconds > 0
    assert dense.shape == (9, 9)
    np.testing.assert_allclose(dense, whole, rtol=0, atol=1e-15)
