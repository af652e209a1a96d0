"""scmedal benchmark (spec §14 "Performance"): s/epoch per model at the reference's size, counterfactual
time, and the genomap figures of benchmarks/scmedal_genomap.py, each next to the reference number.

``python benchmarks/scmedal.py [--epochs 3] [--threads 2] [--models ae,scmedalfe,scmedalre] [--skip-genomap]
[--json FILE]``

Data: synthetic Poisson counts (snakelab.scmedal.synth) of 23,049 train × 2,916 genes, 19 batches, 21 cell
types, log1p(CP10k) and train min-max scaled; validation 7,684 cells; batch 512 (46 steps per epoch).
s/epoch = median wall time of epochs 2..N (epoch 1 holds the tracing), validation included; on a
loaded machine the process CPU time per epoch divided by the thread count is the better estimate of
the wall time on idle cores. Reference (2-core CPU,
TF 2.13.1): AE 6.7, FE 9.5, RE 13.2 s/epoch; counterfactuals for 300 cells x 19 batches target 2 s.
Timings depend on the machine's load and thread count: both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

REFERENCE_S_PER_EPOCH = {"ae": 6.7, "aec": 6.7, "scmedalfe": 9.5, "scmedalfec": 9.5, "scmedalre": 13.2}
CF_TARGET_SECONDS = 2.0
N_TRAIN, N_VAL, N_GENES, N_BATCHES, N_TYPES = 23_049, 7_684, 2_916, 19, 21


def synthetic_splits(seed: int = 0) -> dict[str, np.ndarray]:
    """Scaled train/val matrices and one-hot labels at the reference's size."""
    from snakelab.scmedal.data import one_hot
    from snakelab.scmedal.synth import make_synthetic

    adata = make_synthetic(N_TRAIN + N_VAL, N_GENES, N_BATCHES, N_TYPES, seed)
    counts = adata.X.toarray().astype(np.float32)
    x = np.log1p(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0) * 1e4).astype(np.float32)
    lo, hi = x[:N_TRAIN].min(), x[:N_TRAIN].max()
    x = (x - lo) / (hi - lo)
    batch = adata.obs["batch"].cat.codes.to_numpy()
    ctype = adata.obs["celltype"].cat.codes.to_numpy()
    z, y = one_hot(batch, N_BATCHES), one_hot(ctype, N_TYPES)
    return {"x": x, "z": z, "y": y}


def time_model(name: str, data: dict[str, np.ndarray], epochs: int) -> dict[str, float]:
    """s/epoch (median of epochs 2..N) of ``name`` at batch 512 with validation."""
    from snakelab.scmedal.config import DEFAULTS, LOSS_WEIGHTS
    from snakelab.scmedal.models.build import build_model
    from snakelab.scmedal.models.training import Trainer, fit

    model = build_model(name, N_GENES, N_BATCHES, N_TYPES, DEFAULTS["architecture"])
    trainer = Trainer(model, LOSS_WEIGHTS[name], DEFAULTS["training"]["optimizer"], 1e-4)
    x, z, y = data["x"], data["z"], data["y"]
    train = (x[:N_TRAIN], z[:N_TRAIN], z[:N_TRAIN], y[:N_TRAIN])
    val = (x[N_TRAIN:], z[N_TRAIN:], z[N_TRAIN:], y[N_TRAIN:])
    rng = np.random.default_rng(0)
    fit(trainer, train, N_TRAIN, val, rng, 0, {**DEFAULTS["training"], "epochs": 1}, early_stopping=False)
    cpu = time.process_time()
    training = {**DEFAULTS["training"], "epochs": max(1, epochs - 1)}
    result = fit(trainer, train, N_TRAIN, val, rng, 0, training, early_stopping=False)
    cpu_per_epoch = (time.process_time() - cpu) / result.epochs_run
    return {
        "s_per_epoch": float(np.median(result.epoch_seconds)),
        "cpu_s_per_epoch": cpu_per_epoch,
        "parameters": model.parameter_count(),
    }


def time_counterfactuals(data: dict[str, np.ndarray]) -> float:
    """Seconds for 300 cells x 19 batches through an RE model (compiled once beforehand)."""
    from snakelab.scmedal.config import DEFAULTS
    from snakelab.scmedal.counterfactuals import counterfactual_recon
    from snakelab.scmedal.models.build import build_model
    from snakelab.scmedal.models.training import inference_function

    model = build_model("scmedalre", N_GENES, N_BATCHES, N_TYPES, DEFAULTS["architecture"])
    forward = inference_function(model)
    chunk = DEFAULTS["training"]["inference_batch_size"]
    counterfactual_recon(forward, data["x"][:10], list(range(N_BATCHES)), N_BATCHES, chunk)
    start = time.perf_counter()
    counterfactual_recon(forward, data["x"][:300], list(range(N_BATCHES)), N_BATCHES, chunk)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per model (median of 2..N)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--models", default="ae,scmedalfe,scmedalre")
    parser.add_argument("--skip-genomap", action="store_true", help="omit the genomap rows")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from snakelab.core.threads import limit_threads

    limit_threads(args.threads)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    data = synthetic_splits()
    rows = []
    print(
        f"scmedal benchmark: {N_TRAIN} x {N_GENES} train, batch 512, {args.threads} threads, "
        f"TF {tf.__version__}"
    )
    print(f"{'quantity':<34}{'ours':>10}{'reference':>11}{'ratio':>8}")
    for name in args.models.split(","):
        fig = time_model(name, data, args.epochs)
        ref = REFERENCE_S_PER_EPOCH[name]
        rows.append({"quantity": f"{name} s/epoch", "ours": fig["s_per_epoch"], "reference": ref})
        rows.append(
            {
                "quantity": f"{name} CPU-s/epoch / threads",
                "ours": fig["cpu_s_per_epoch"] / args.threads,
                "reference": ref,
            }
        )
    rows.append(
        {
            "quantity": "counterfactuals 300 x 19 (s)",
            "ours": time_counterfactuals(data),
            "reference": CF_TARGET_SECONDS,
        }
    )
    if not args.skip_genomap:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from scmedal_genomap import genomap_figures

        (row,) = genomap_figures(sizes=(54,), solvers=("sinkhorn",))
        rows.append(
            {"quantity": "genomap C1 6,300 x 2,916 (s)", "ours": row["c1_seconds"], "reference": 41.0}
        )
        rows.append(
            {"quantity": "genomap GW sinkhorn 54x54 (s)", "ours": row["gw_seconds"], "reference": 1080.0}
        )
    for row in rows:
        ours, ref = row["ours"], row["reference"]
        ratio = f"{ours / ref:8.2f}" if ours and ref else f"{'':>8}"
        print(f"{row['quantity']:<34}{ours:>10.2f}{ref:>11.2f}{ratio}")
    meta = {
        "threads": args.threads,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
    }
    print(json.dumps(meta))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"rows": rows, "meta": meta}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
