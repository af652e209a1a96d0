"""Training speed of the segment pipeline against DaCapo 0.3.5 (spec §16).

Per task (affinities with the 3 nearest-neighbour offsets; distance, channel fg), the `unet_bench`
architecture (num_fmaps 4, fmaps_out 4, one (2,2,2) downsample, valid, input 20×44×44, eval +4×8×8),
batch 2, lr 1e-3, torch threads 2: 200 iterations with 2 validations, on synthetic volumes shaped like
the reference's (affinities: 31×61×57 with up to 51 objects; distance: 32³ at voxel size 2). Prints
s/iteration (mean over iterations 10..199, batch preparation + forward + backward + step, as the
reference's stats), iterations/s, the speed-up against the reference's 0.21 / 0.54 s/iteration, the
wall time of 200 iterations + 2 validations, and the distance run's best dice.

    .venv/bin/python benchmarks/segment_speed.py [--threads 2] [--iterations 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REFERENCE = {"affinities": 0.21, "distance": 0.54}
TARGET = {"affinities": 0.105, "distance": 0.27}


def section(iterations: int) -> dict:
    arch = {
        "type": "cnnectome_unet",
        "input_shape": [20, 44, 44],
        "eval_shape_increase": [4, 8, 8],
        "num_fmaps": 4,
        "fmaps_out": 4,
        "fmap_inc_factor": 2,
        "downsample_factors": [[2, 2, 2]],
        "padding": "valid",
    }
    trainer = {"batch_size": 2, "learning_rate": 1e-3, "warmup": {"start_factor": 0.01, "iterations": 50}}
    run = {
        "architecture": "unet_bench",
        "trainer": "bench",
        "num_iterations": iterations,
        "validation_interval": iterations // 2,
    }
    spheres = {"kind": "spheres", "radius": [3, 6]}
    aff = {**spheres, "shape": [31, 61, 57], "n_objects": 51}
    dist = {**spheres, "shape": [32, 32, 32], "n_objects": 8, "voxel_size": [2, 2, 2]}
    return {
        "seed": 0,
        "data": {
            "aff_train": {**aff, "seed": 0},
            "aff_val": {**aff, "seed": 1},
            "dist_train": {**dist, "seed": 2},
            "dist_val": {**dist, "seed": 3},
        },
        "datasplits": {
            "aff": {"train": [{"dataset": "aff_train"}], "validate": ["aff_val"]},
            "dist": {"train": [{"dataset": "dist_train"}], "validate": ["dist_val"]},
        },
        "tasks": {"affs": {"type": "affinities"}, "dist": {"type": "distance", "scale_factor": 10.0}},
        "architectures": {"unet_bench": arch},
        "trainers": {"bench": trainer},
        "runs": [
            {"name": "affinities", "task": "affs", "datasplit": "aff", **run},
            {"name": "distance", "task": "dist", "datasplit": "dist", **run},
        ],
    }


def validated(sec: dict) -> dict:
    from snakemake.utils import validate

    config = {"pipelines": ["segment"], "segment": sec}
    validate(config, str(Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"))
    return config["segment"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()

    from snakelab.segment import paths
    from snakelab.segment.configs import data_path, resolve_run, write_configs
    from snakelab.segment.data import make_data
    from snakelab.segment.stats import TrainingStats, ValidationScores, select_best
    from snakelab.segment.training import train_run

    sec = validated(section(args.iterations))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, spec in sec["data"].items():
            make_data(spec, data_path(root, name))
        for task in ("affinities", "distance"):
            run_dir = write_configs(resolve_run(sec, f"{task}__0", root), root).parent
            began = time.perf_counter()
            train_run(run_dir, threads=args.threads)
            wall = time.perf_counter() - began
            stats = TrainingStats.read(paths.stats_path(run_dir))
            times = [s.time for s in stats.iteration_stats if 10 <= s.iteration < args.iterations]
            s_per_it = sum(times) / len(times)
            scores = ValidationScores.read_json(paths.scores_path(run_dir))
            extra = ""
            if task == "distance":
                extra = f"best fg__dice {select_best(scores, 'fg__dice').value:.3f}"
            else:
                extra = f"best voi {select_best(scores, 'voi').value:.3f}"
            rows.append((task, s_per_it, wall, extra))
    print(
        f"segment training speed, unet_bench, batch 2, {args.threads} threads, {args.iterations} iterations"
    )
    header = ("task", "s/it", "it/s", "ref s/it", "speed-up", "target", "wall s")
    print("{:<11} {:>7} {:>6} {:>8} {:>8} {:>7} {:>7}  quality".format(*header))
    for task, s_per_it, wall, extra in rows:
        speedup = REFERENCE[task] / s_per_it
        print(
            f"{task:<11} {s_per_it:7.4f} {1 / s_per_it:6.1f} {REFERENCE[task]:8.2f} {speedup:7.1f}x"
            f" {TARGET[task]:7.3f} {wall:7.1f}  {extra}"
        )


if __name__ == "__main__":
    main()
