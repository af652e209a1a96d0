"""The tabular performance anchor (spec §13): the iris demo end to end, against AIQC's 335.9 s.

``python benchmarks/tabular.py [--library keras|pytorch] [--seeds 0,1,2,3,4] [--cores 2] [--keep DIR]``

For each seed: a fresh temporary directory holding the demo config with only the chosen experiment
(``iris_keras`` or ``iris_torch``) and ``tabular.seed`` set, a fresh SQLite store, and a timed
``snakemake --cores N`` (register → report). Prints the end-to-end wall and the speed-up vs 335.9 s,
the per-rule wall (``benchmark:`` files), runs, mean/max fit_s and overhead_s, mean test and
fold_validation accuracy, store bytes (db + wal) and results bytes, each with its target and
PASS/MISS; then the spread over seeds. Not a timed test: exit 0 unless the workflow fails.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REFERENCE_S = 335.9
TARGETS = {"wall_s": 84.0, "overhead_s": 1.0, "test_accuracy": 0.93, "fold_validation_accuracy": 0.90}
EXPERIMENT = {"keras": "iris_keras", "pytorch": "iris_torch"}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run_seed(library: str, seed: int, cores: int, workdir: Path) -> dict[str, float]:
    """Run the demo for one library and seed in ``workdir``; return its figures."""
    experiment = EXPERIMENT[library]
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    tabular = config["tabular"]
    tabular["seed"] = seed
    pipeline = tabular["experiments"][experiment]["pipeline"]
    tabular["experiments"] = {experiment: tabular["experiments"][experiment]}
    tabular["pipelines"] = {pipeline: tabular["pipelines"][pipeline]}
    config["pipelines"] = ["tabular"]
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("SNAKELAB_STORE_URL", None)
    cmd = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        str(cores),
        "--profile",
        str(REPO / "workflow/profiles/default"),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit(f"snakemake failed for seed {seed} (exit {proc.returncode}); kept {workdir}")
    rules: dict[str, float] = {}
    for tsv in (workdir / "benchmarks" / "tabular").rglob("*.tsv"):
        rule = tsv.relative_to(workdir / "benchmarks" / "tabular").parts[0]
        rules[rule] = rules.get(rule, 0.0) + float(pd.read_csv(tsv, sep="\t")["s"].iloc[0])
    db = workdir / "results" / "snakelab.sqlite"
    with sqlite3.connect(db) as connection:
        fit, overhead = zip(
            *connection.execute("SELECT fit_s, overhead_s FROM predictor").fetchall(), strict=True
        )
    metrics = pd.read_parquet(workdir / "results/tabular/experiments" / experiment / "metrics.parquet")
    store_bytes = sum(p.stat().st_size for p in db.parent.glob("snakelab.sqlite*"))
    return {
        "wall_s": wall,
        "rules": rules,
        "runs": metrics["run_uid"].nunique(),
        "fit_mean": sum(fit) / len(fit),
        "fit_max": max(fit),
        "overhead_mean": sum(overhead) / len(overhead),
        "overhead_max": max(overhead),
        "test_accuracy": metrics.loc[metrics["split"] == "test", "accuracy"].mean(),
        "fold_validation_accuracy": metrics.loc[metrics["split"] == "fold_validation", "accuracy"].mean(),
        "store_bytes": store_bytes,
        "results_bytes": dir_bytes(workdir / "results"),
    }


def report(seed: int, r: dict) -> None:
    print(f"== seed {seed}")
    print(
        f"end-to-end wall      {r['wall_s']:8.1f} s  (target ≤ {TARGETS['wall_s']} s)  "
        f"speed-up {REFERENCE_S / r['wall_s']:.1f}x vs {REFERENCE_S} s  "
        f"{verdict(r['wall_s'] <= TARGETS['wall_s'])}"
    )
    for rule, seconds in sorted(r["rules"].items()):
        print(f"  rule {rule:<12} {seconds:8.1f} s (sum over jobs)")
    print(f"runs                 {r['runs']:8d}")
    print(f"fit_s                mean {r['fit_mean']:.2f} s, max {r['fit_max']:.2f} s")
    print(
        f"overhead_s           mean {r['overhead_mean']:.2f} s, max {r['overhead_max']:.2f} s  "
        f"(target mean ≤ {TARGETS['overhead_s']} s)  {verdict(r['overhead_mean'] <= TARGETS['overhead_s'])}"
    )
    print(
        f"test accuracy        {r['test_accuracy']:.4f}  (target ≥ {TARGETS['test_accuracy']}, AIQC 0.952)  "
        f"{verdict(r['test_accuracy'] >= TARGETS['test_accuracy'])}"
    )
    print(
        f"fold_validation acc  {r['fold_validation_accuracy']:.4f}  "
        f"(target ≥ {TARGETS['fold_validation_accuracy']})"
        f"  {verdict(r['fold_validation_accuracy'] >= TARGETS['fold_validation_accuracy'])}"
    )
    print(
        f"store bytes          {r['store_bytes']:,}  (AIQC 1,892,352)  "
        f"{verdict(r['store_bytes'] < 1_892_352)}"
    )
    print(f"results bytes        {r['results_bytes']:,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=sorted(EXPERIMENT), default="keras")
    parser.add_argument("--seeds", default="0", help="comma-separated tabular.seed values (default 0)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in DIR/seed_<s> and keep it (default: a temp dir)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    results = {}
    for seed in seeds:
        if args.keep:
            workdir = args.keep / f"seed_{seed}"
            results[seed] = run_seed(args.library, seed, args.cores, workdir)
        else:
            with tempfile.TemporaryDirectory(prefix="snakelab-tabular-bench-") as tmp:
                results[seed] = run_seed(args.library, seed, args.cores, Path(tmp))
        report(seed, results[seed])
    if len(seeds) > 1:
        test = [r["test_accuracy"] for r in results.values()]
        fv = [r["fold_validation_accuracy"] for r in results.values()]
        print(
            f"== over seeds {seeds}: test accuracy {min(test):.4f}–{max(test):.4f} "
            f"(mean {sum(test) / len(test):.4f}),"
            f" fold_validation {min(fv):.4f}–{max(fv):.4f} (mean {sum(fv) / len(fv):.4f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
