"""The demo's acceptance figures (spec §14 "Workflow tests"), read from a finished output tree.

``python -m snakelab.scmedal.demo_figures <root> <demo.h5ad>`` prints them as JSON; the slow acceptance
test asserts the bars on the same numbers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def demo_figures(root: str | Path, demo_h5ad: str | Path) -> dict[str, Any]:
    """Test-split ASW (batch, celltype) mean and 95% CI per model, MEC rows, counterfactual r per fold,
    and the early-stopping bookkeeping of every FE/FEC/RE fold. ``root``: ``{outdir}/{dataset}_outputs``."""
    import pandas as pd

    from snakelab.scmedal.demo import planted_effect_correlation

    root = Path(root)
    (ci_path,) = sorted(root.glob("compare_models/*/*/test_scores_*_95CI.csv"))
    ci = pd.read_csv(ci_path, header=[0, 1, 2], index_col=0)
    asw = {
        model: {
            label: [float(ci.loc[model, (label, "silhouette", s)]) for s in ("mean", "CI_lower", "CI_upper")]
            for label in ("batch", "celltype")
        }
        for model in ci.index
    }
    out: dict[str, Any] = {"asw_test": asw}
    summaries = sorted(root.glob("latent_space/*/mec/MEC_RF_summary.csv"))
    if summaries:
        out["mec"] = pd.read_csv(summaries[0]).to_dict(orient="records")
    cf = sorted(root.glob("latent_space/*/scmedalre/*/splits_*/counterfactuals/cf_test_*.npz"))
    out["cf_r"] = [planted_effect_correlation(p, demo_h5ad) for p in cf]
    out["cf_r_deranged"] = [planted_effect_correlation(p, demo_h5ad, derange=True) for p in cf]
    stops = []
    for model in ("scmedalfe", "scmedalfec", "scmedalre"):
        for info_path in sorted(root.glob(f"saved_models/*/{model}/*/splits_*/training.json")):
            info = json.loads(info_path.read_text())
            history = pd.read_csv(
                root / "latent_space" / info_path.relative_to(root / "saved_models").parent / "history.csv"
            )
            stops.append(
                {
                    "model": model,
                    "fold": info["fold"],
                    "best_epoch": info["best_epoch"],
                    "epochs_run": info["epochs_run"],
                    "best_val_total_loss": float(
                        history.loc[history["epoch"] == info["best_epoch"], "val_total_loss"].iloc[0]
                    ),
                    "restored_val_total_loss": info["restored_val_total_loss"],
                }
            )
    out["early_stopping"] = stops
    out["cf_r_mean"] = float(np.mean(out["cf_r"])) if out["cf_r"] else None
    return out


if __name__ == "__main__":
    print(json.dumps(demo_figures(sys.argv[1], sys.argv[2]), indent=2, default=str))
