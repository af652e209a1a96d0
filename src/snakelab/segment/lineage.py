"""Record a trained run in the metastore (``store.url`` or SNAKELAB_STORE_URL), after the train job.

One lineage run per run × repetition, kind ``train``: config = the resolved run.yaml, seed = the
segment seed, params = run id, task, architecture and trainer names, input = run.yaml; metrics = the
loss per iteration (split ``train``) and every validation score as ``{dataset}/{parameter}/{criterion}``
at its iteration (split ``validation``, NaN left out); artefacts = stats, scores and every checkpoint.
Recording again a run whose files are unchanged finds the existing record and leaves it.
``run.json`` goes to ``runs/{run}/lineage/``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from snakelab.segment import paths

log = logging.getLogger("snakelab.segment.lineage")


def record_run(store_url: str | None, run_dir: str | os.PathLike[str]) -> str | None:
    """Record the run in ``run_dir``; return its uid, or None when no store is named."""
    if store_url is None and not os.environ.get("SNAKELAB_STORE_URL"):
        return None
    from snakelab.segment.configs import load_run
    from snakelab.segment.stats import TrainingStats, ValidationScores
    from snakelab.segment.training import checkpoint_iterations
    from snakelab.store import open_store
    from snakelab.store.errors import RunExists

    run_dir = Path(run_dir)
    run = load_run(paths.run_yaml(run_dir))
    store = open_store(store_url, create=True)
    try:
        params = {
            "run": run["run"],
            "task": run["task"]["name"],
            "architecture": run["architecture"]["name"],
            "trainer": run["trainer"]["name"],
            "repetition": run["repetition"],
        }
        with store.run(
            pipeline="segment",
            kind="train",
            config=run,
            seed=int(run["seed"]),
            params=params,
            inputs={"run_yaml": paths.run_yaml(run_dir)},
            name=run["run"],
            run_dir=run_dir / "lineage",
        ) as record:
            for stats in TrainingStats.read(paths.stats_path(run_dir)).iteration_stats:
                record.log_metric("loss", stats.loss, step=stats.iteration, split="train")
            scores_file = paths.scores_path(run_dir)
            if scores_file.exists():
                scores = ValidationScores.read_json(scores_file)
                for entry in scores.scores:
                    for d, dataset in enumerate(scores.datasets):
                        for p, parameter in enumerate(scores.parameters):
                            for c, criterion in enumerate(scores.criteria):
                                value = float(entry.scores[d, p, c])
                                if math.isfinite(value):
                                    name = f"{dataset}/{parameter}/{criterion}"
                                    record.log_metric(name, value, step=entry.iteration, split="validation")
                record.log_artifact("validation_scores", scores_file)
            record.log_artifact("training_stats", paths.stats_path(run_dir))
            for n in checkpoint_iterations(run_dir):
                record.log_artifact(f"checkpoint_{n}", paths.checkpoint_path(run_dir, n))
            uid = record.uid
    except RunExists as exists:
        uid = exists.record.uid
    finally:
        store.dispose()
    log.info("recorded %s in the store (%s)", run["run"], uid)
    return uid
