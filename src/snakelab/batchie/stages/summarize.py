"""``snakelab batchie summarize``: the comparison of arms over replicates (spec §3.1).

Writes ``trajectory.tsv`` (one row per step), ``selections.json``, ``mse_summary.tsv`` (test MSE
mean ± sd over replicates per arm and iteration) and ``mse_trajectory.{png,pdf}`` (MSE against the
number of plates the model was trained on, one line per arm, band = ± 1 sd over replicates).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import numpy as np

from snakelab.batchie import trajectory
from snakelab.core.atomic import atomic_path, write_text

log = logging.getLogger("snakelab.batchie.summarize")

PDF_METADATA = {"CreationDate": None, "ModDate": None}


def mse_summary_tsv(rows: list[dict]) -> str:
    """``mse_summary.tsv`` text."""
    header = ["arm", "iter", "n_training_plates", "mse_mean", "mse_sd", "n_replicates"]
    lines = ["\t".join(header)]
    lines += ["\t".join(repr(r[h]) if isinstance(r[h], float) else str(r[h]) for h in header) for r in rows]
    return "\n".join(lines) + "\n"


def plot_mse(rows: list[dict], png: Path, pdf: Path) -> None:
    """MSE vs plates the model was trained on, per arm, mean ± sd band over replicates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4))
    for arm in sorted({r["arm"] for r in rows}):
        arm_rows = [r for r in rows if r["arm"] == arm]
        x = np.array([r["n_training_plates"] for r in arm_rows])
        mean = np.array([r["mse_mean"] for r in arm_rows])
        sd = np.nan_to_num(np.array([r["mse_sd"] for r in arm_rows]))
        n = max(r["n_replicates"] for r in arm_rows)
        (line,) = ax.plot(x, mean, marker="o", label=f"{arm} (n = {n})")
        ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    means = [r["mse_mean"] for r in rows if r["mse_mean"] > 0]
    if means and max(means) > 10 * min(means):
        ax.set_yscale("log")
    ax.set_xlabel("observed plates the model was trained on")
    ax.set_ylabel("test MSE (viability²)")
    ax.set_title("Model MSE vs plates revealed (mean ± sd over replicates)")
    ax.legend()
    fig.tight_layout()
    for path, kwargs in ((png, {"dpi": 150}), (pdf, {"metadata": PDF_METADATA})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix[1:], **kwargs)
    plt.close(fig)


def record_lineage(runs: list[str | Path], output_dir: Path, store_url: str | None, seed: int | None) -> None:
    """Record each iteration in the metastore when a store is named (``--store`` or SNAKELAB_STORE_URL)."""
    if store_url is None and not os.environ.get("SNAKELAB_STORE_URL"):
        return
    from snakelab.batchie.lineage import record_replicate
    from snakelab.store import open_store

    store = open_store(store_url, create=True)
    try:
        for root in runs:
            record_replicate(store, root, Path(root).parent.parent.name, output_dir / "lineage", seed)
    finally:
        store.dispose()


def run(
    runs: list[str | Path], output_dir: str | Path, store_url: str | None = None, seed: int | None = None
) -> Path:
    """Summarise the replicate directories ``runs`` into ``output_dir`` (and record them in the store
    when one is named); return ``output_dir``."""
    output_dir = Path(output_dir)
    steps = [step for root in runs for step in trajectory.read_replicate(root)]
    rows = trajectory.mse_summary(steps)
    write_text(output_dir / "trajectory.tsv", trajectory.trajectory_tsv(steps))
    write_text(output_dir / "selections.json", json.dumps(trajectory.selections(steps), indent=4))
    write_text(output_dir / "mse_summary.tsv", mse_summary_tsv(rows))
    plot_mse(rows, output_dir / "mse_trajectory.png", output_dir / "mse_trajectory.pdf")
    record_lineage(runs, output_dir, store_url, seed)
    for r in rows:
        log.info(
            "%s iter %d: %.1f training plates, test MSE %.4f ± %.4f (%d replicates)",
            r["arm"],
            r["iter"],
            r["n_training_plates"],
            r["mse_mean"],
            r["mse_sd"],
            r["n_replicates"],
        )
    return output_dir


def main(args: argparse.Namespace) -> None:
    run(args.runs, args.output_dir, args.store, args.seed)
