"""Record a retrospective run's iterations in the metastore (spec store §9: "BATCHIE iteration, parent =
the previous iteration").

One lineage run per arm × replicate × iteration, written by the summary stage from the finished files
(the files are the truth; a single writer): inputs are the screen the iteration trained on, outputs its
thetas, model evaluation and every step's selection and advanced screen; metrics are the evaluation's
MSE statistics and the plates trained on; params name the arm, replicate, iteration and selections.
Recording an iteration again (a rerun of the summary) finds the existing run and leaves it as it is.
Each iteration's ``run.json`` goes to ``<summary dir>/lineage/<arm>/rep_<rep>/iter_<i>/``, so BATCHIE's
documented tree under ``<arm>/rep_<rep>/`` keeps exactly its own files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from snakelab.batchie import trajectory

log = logging.getLogger("snakelab.batchie.lineage")


def _iteration_files(root: Path, iteration: int) -> tuple[Path, list[Path]]:
    """(plate_0 step directory, step directories of the iteration in plate order)."""
    steps = sorted(
        (d for d in root.glob(f"iter_{iteration}/plate_*/*") if d.is_dir()),
        key=lambda d: int(d.parent.name.removeprefix("plate_")),
    )
    return steps[0], steps


def _training_screen(root: Path, iteration: int, previous_last_step: Path | None) -> Path:
    if iteration == 0:
        (path,) = root.glob("iter_0/plate_0/*/training.screen.h5")
        return path
    assert previous_last_step is not None
    return previous_last_step / "advanced_screen.h5"


def record_replicate(
    store: Any, root: str | Path, run_name: str, lineage_dir: str | Path, seed: int | None = None
) -> list[str]:
    """Record every iteration of ``<run>/<arm>/rep_<rep>`` (``root``); return their uids in order.

    ``lineage_dir``: where the ``run.json`` files go (``<lineage_dir>/<arm>/rep_<rep>/iter_<i>/``).
    """
    from snakelab.store.errors import RunExists

    root = Path(root)
    steps = trajectory.read_replicate(root)
    uids: list[str] = []
    previous_last: Path | None = None
    for i in sorted({s.iter for s in steps}):
        rows = [s for s in steps if s.iter == i]
        plate0, step_dirs = _iteration_files(root, i)
        params = {
            "run": run_name,
            "arm": rows[0].arm,
            "rep": rows[0].rep,
            "iter": i,
            "selected_plates": ",".join(str(s.selected_plate) for s in rows),
        }
        training = _training_screen(root, i, previous_last)
        try:
            with store.run(
                pipeline="batchie",
                kind="iteration",
                config={"run_name": run_name},
                seed=seed,
                params=params,
                inputs={"training_screen": training},
                parent=uids[-1] if uids else None,
                name=f"{run_name}/{rows[0].arm}/rep_{rows[0].rep}/iter_{i}",
                run_dir=Path(lineage_dir) / rows[0].arm / f"rep_{rows[0].rep}" / f"iter_{i}",
            ) as run:
                run.log_metrics(
                    {
                        "mse": rows[0].mse,
                        "mse_variance": rows[0].mse_variance,
                        "inter_chain_mse_variance": rows[0].inter_chain_mse_variance,
                    },
                    split="evaluation",
                )
                run.log_metric("n_training_plates", rows[0].n_training_plates)
                for path in sorted(plate0.glob("thetas_*.h5")):
                    run.log_artifact(path.stem, path)
                run.log_artifact("model_evaluation", plate0 / "model_evaluation.h5")
                for j, step in enumerate(step_dirs):
                    run.log_artifact(f"selected_plate_{j}", step / "selected_plate")
                    run.log_artifact(f"advanced_screen_{j}", step / "advanced_screen.h5")
                uid = run.uid
        except RunExists as exists:
            uid = exists.record.uid
        uids.append(uid)
        previous_last = step_dirs[-1]
    log.info("recorded %d iterations of %s in the store", len(uids), root)
    return uids
