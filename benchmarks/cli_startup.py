"""CLI start-up: wall time and peak memory of light `snakelab` stages, against BATCHIE's figures.

BATCHIE's CLI imports torch and pyro in every stage: ~8-12 s and ~750 MB per call; its lightest
stages (select/reveal/metadata) take 0.7-1.7 s and 86-89 MB (spec batchie §12). The reference
columns use the fast end of those ranges. Target: < 2 s per stage; light stages <= 89 MB RSS.

Run: .venv/bin/python benchmarks/cli_startup.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent

#: (name, argv, reference wall s, reference peak RSS MB, target wall s, target RSS MB)
CASES = [
    ("snakelab --help", ["--help"], None, None, 2.0, None),
    ("batchie make-demo", ["batchie", "make-demo", "--output-dir", "."], 8.0, 750.0, 2.0, None),
    (
        "batchie metadata",
        ["batchie", "metadata", "--screen", "masked_screen.h5", "--output", "m.json"],
        0.7,
        89.0,
        2.0,
        89.0,
    ),
]


def measure(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `snakelab` call in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "snakelab"), *argv], cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"snakelab {' '.join(argv)} failed")
    return wall, usage.ru_maxrss / 1024


def fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:.2f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        header = ("stage", "ref wall", "ours wall", "ratio", "ref RSS", "ours RSS")
        print(f"{header[0]:<20} " + " ".join(f"{h:>10}" for h in header[1:]) + " target")
        for name, argv, ref_wall, ref_rss, target_wall, target_rss in CASES:
            runs = [measure(argv, cwd) for _ in range(args.repeats)]
            wall = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            ratio = "-" if ref_wall is None else f"{ref_wall / wall:.0f}x"
            ok = wall < target_wall and (target_rss is None or rss <= target_rss)
            target = f"<{target_wall:g} s" + ("" if target_rss is None else f", <={target_rss:g} MB")
            print(
                f"{name:<20} {fmt(ref_wall, 's'):>10} {fmt(wall, 's'):>10} {ratio:>10} "
                f"{fmt(ref_rss, 'MB'):>10} {fmt(rss, 'MB'):>10} {target} {'PASS' if ok else 'FAIL'}"
            )


if __name__ == "__main__":
    main()
