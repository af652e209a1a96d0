"""The ``aggregate`` and ``report`` stages of an experiment (spec §8, §11).

``aggregate`` reads the succeeded runs of the plan from the store (their Predictor rows and metric
rows, one source of truth) and the run directories, and writes ``metrics.parquet`` (one row per run
× split), ``aggregate.csv`` (evaluation role), ``aggregate_test.csv`` (test role), ``importance.csv``
(best combo) and ``best.json``. ``report`` draws the plots from those files and the run directories.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakelab.core.atomic import atomic_path, write_bytes
from snakelab.tabular.stages import json_bytes, read_json

if TYPE_CHECKING:
    import pandas as pd

    from snakelab.store import Store
    from snakelab.tabular.aggregate import SplitKeys

AGGREGATE_FILES = ("metrics.parquet", "aggregate.csv", "aggregate_test.csv", "importance.csv", "best.json")


def split_keys(plan: Mapping[str, Any]) -> SplitKeys:
    """The roles of the plan's splitset (from splits.json)."""
    from snakelab.tabular.aggregate import SplitKeys

    splits = read_json(plan["splits"], "splits")
    keys = splits["keys"]
    validation = "validation" if "validation" in splits["samples"] else None
    return SplitKeys(keys["train"], keys["evaluation"], keys.get("test"), validation)


def metric_rows(store: Store, plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Long metric rows (split, name, value + run identity) of the plan's succeeded runs, from the store."""
    from sqlalchemy import select

    from snakelab.store.models import Metric, Predictor, Run

    by_uid = {r["uid"]: r for r in plan["runs"]}
    query = (
        select(Run.uid, Predictor.id, Metric.split, Metric.name, Metric.value)
        .join(Predictor, Predictor.run_id == Run.id)
        .join(Metric, Metric.run_id == Run.id)
        .where(Run.uid.in_(list(by_uid)), Predictor.status == "succeeded", Metric.split != "")
    )
    with store.read() as session:
        found = [tuple(row) for row in session.execute(query).all()]
    rows = []
    for uid, predictor_id, split, name, value in found:
        run = by_uid[uid]
        rows.append(
            {
                "experiment": plan["experiment"],
                "predictor_id": predictor_id,
                "run_uid": uid,
                "run_key": run["key"],
                "combo_idx": run["combo_idx"],
                "fold_idx": run["fold_idx"],
                "repeat_idx": run["repeat_idx"],
                "split": split,
                "name": name,
                "value": None if value is None else float(value),
            }
        )
    return rows


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def aggregate(store: Store, plan_path: str | Path, output_dir: str | Path) -> dict[str, Any]:
    """Write the aggregate outputs of an experiment into ``output_dir``; return best.json's content."""
    import pandas as pd

    from snakelab.tabular import aggregate as agg

    plan = read_json(plan_path, "plan")
    out = Path(output_dir)
    keys = split_keys(plan)
    combos = {c["idx"]: c["hyperparameters"] for c in plan["combos"]}
    rows = metric_rows(store, plan)
    if not rows:
        raise RuntimeError(f"experiment {plan['experiment']}: no succeeded run in {store.masked_url}")
    metrics = agg.metrics_df(rows, keys, combos)
    with atomic_path(out / "metrics.parquet") as tmp:
        metrics.to_parquet(tmp, index=False)
    evaluation = agg.metrics_aggregate_df(metrics, keys, role="evaluation")
    _write_csv(out / "aggregate.csv", evaluation)
    test = agg.metrics_aggregate_df(metrics, keys, role="test") if keys.test else evaluation.iloc[0:0]
    _write_csv(out / "aggregate_test.csv", test)
    analysis = plan["algorithm"]["analysis_type"]
    best = agg.best_combo(evaluation, analysis)
    runs_dir = Path(plan_path).parent / "runs"
    best_runs = [r["key"] for r in plan["runs"] if r["combo_idx"] == best]
    per_run = {}
    for key in best_runs:
        path = runs_dir / key / "importance.json"
        if path.is_file():
            per_run[key] = json.loads(path.read_text(encoding="utf-8"))["feature_importance"]
    importance = (
        agg.importance_aggregate(agg.importance_df(per_run))
        if per_run
        else pd.DataFrame(columns=["feature_idx", "column", "median", "mean", "n_runs", "loss_impacts"])
    )
    importance = importance.assign(loss_impacts=[json.dumps(v) for v in importance["loss_impacts"]])
    _write_csv(out / "importance.csv", importance)
    primary = "r2" if analysis == "regression" else "accuracy"

    def mean_of(frame: pd.DataFrame, metric: str) -> float | None:
        sel = frame[(frame["combo_idx"] == best) & (frame["metric"] == metric)] if len(frame) else frame
        return None if len(sel) == 0 else float(sel["mean"].iloc[0])

    content = {
        "experiment": plan["experiment"],
        "best_combo": best,
        "hyperparameters": combos[best],
        "primary_metric": primary,
        "evaluation_split": keys.evaluation,
        "evaluation_is_test": keys.evaluation_is_test,
        "evaluation_mean": mean_of(evaluation, primary),
        "test_mean": mean_of(test, primary),
        "runs": best_runs,
        "succeeded_runs": int(metrics["run_uid"].nunique()),
        "planned_runs": len(plan["runs"]),
    }
    write_bytes(out / "best.json", json_bytes(content))
    return content


def report(plan_path: str | Path, aggregate_dir: str | Path, output_dir: str | Path) -> list[Path]:
    """Draw the experiment's plots into ``output_dir``; return the files written."""
    import numpy as np
    import pandas as pd

    from snakelab.tabular import config as tabular_config
    from snakelab.tabular import plots
    from snakelab.tabular.aggregate import confusion_sum
    from snakelab.tabular.metrics import read_plot_data

    plan = read_json(plan_path, "plan")
    settings = tabular_config.report(plan["spec"])
    formats = (settings["format"],)
    agg_dir, out = Path(aggregate_dir), Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    best = read_json(agg_dir / "best.json", "best")
    keys = split_keys(plan)
    metrics = pd.read_parquet(agg_dir / "metrics.parquet")
    analysis = plan["algorithm"]["analysis_type"]
    score = "r2" if analysis == "regression" else "accuracy"
    written: list[Path] = []
    evaluation = metrics[metrics["split"] == keys.evaluation]
    written += plots.plot_performance(
        evaluation,
        score,
        out / "performance.png",
        max_loss=settings["max_loss"],
        min_score=settings["min_score"],
        formats=formats,
    )
    runs_dir = Path(plan_path).parent / "runs"
    histories = {}
    plot_data = {}
    for key in best["runs"]:
        if (runs_dir / key / "history.json").is_file():
            histories[key] = json.loads((runs_dir / key / "history.json").read_text(encoding="utf-8"))
            plot_data[key] = read_plot_data(runs_dir / key / "plot_data.npz")
    written += plots.plot_learning_curves(
        histories, out / "learning_curves.png", skip_head=settings["skip_head"], formats=formats
    )
    roles = {"evaluation": keys.evaluation, "test": keys.test}
    if analysis != "regression":
        for kind, (x, y) in {"roc": ("roc_fpr", "roc_tpr"), "pr": ("pr_recall", "pr_precision")}.items():
            curves = {
                role: {
                    key: (np.asarray(d[split][x]), np.asarray(d[split][y]))
                    for key, d in plot_data.items()
                    if split in d
                }
                for role, split in roles.items()
                if split
            }
            written += plots.plot_curves(kind, curves, out / f"{kind}.png", formats=formats)
        manifest = json.loads(
            (Path(plan["splits"]).parent / "cache" / plan["runs"][0]["fold"] / "manifest.json").read_text()
        )
        classes = manifest["label"].get("unique_classes") or manifest["label"].get("encoded_column_names")
        for role, split in roles.items():
            if split:
                matrix = confusion_sum(plot_data.values(), split)
                written += plots.plot_confusion(
                    matrix, classes, out / f"confusion_{role}.png", title=f"{role} ({split})", formats=formats
                )
    importance = pd.read_csv(agg_dir / "importance.csv")
    if len(importance):
        importance["loss_impacts"] = [json.loads(v) for v in importance["loss_impacts"]]
    written += plots.plot_importance(
        importance, out / "importance.png", top_n=settings["top_n"], formats=formats
    )
    return written
