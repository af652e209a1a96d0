"""The tabular stages behind ``snakelab tabular register|split|prepare|plan`` (spec §7, §10, §11).

Each function reads files and config sections, writes its outputs atomically and returns what it
wrote; the ``train`` stage is :mod:`snakelab.tabular.train`, ``aggregate``/``report`` are
:mod:`snakelab.tabular.report_stage`, ``infer`` is :mod:`snakelab.tabular.infer`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakelab.core.atomic import write_bytes
from snakelab.core.errors import InputError
from snakelab.tabular import config as tabular_config
from snakelab.tabular.plan import PLAN_FORMAT, assign_tasks, fold_name, run_coordinates, run_key

if TYPE_CHECKING:
    from snakelab.store import Store

log = logging.getLogger("snakelab.tabular")

ONE_HOT = {"OneHotEncoder", "LabelBinarizer", "MultiLabelBinarizer"}


def json_bytes(doc: Any) -> bytes:
    """Canonical, readable JSON bytes of a stage output (sorted keys, one space indent)."""
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode("utf-8")


def read_json(path: str | Path, what: str) -> dict[str, Any]:
    """A stage's JSON output (one-line error when missing or broken)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, what, "expected the output of the previous stage; file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, what, f"expected JSON ({exc.msg})") from None


def register(store: Store, spec: Mapping[str, Any], name: str, output: str | Path) -> dict[str, Any]:
    """``tabular_register``: register (or reuse) one dataset; write ``datasets/<name>.json``."""
    from snakelab.tabular.datasets import Dataset

    if "source" not in spec:
        raise InputError(None, f"tabular.datasets.{name}.source", "expected a path or 'sklearn:<loader>'")
    dataset = Dataset.tabular(
        spec["source"],
        name=spec.get("name") or name,
        ingest=spec.get("ingest", True),
        rename_columns=spec.get("rename_columns"),
        retype=spec.get("retype"),
        description=spec.get("description"),
        store=store,
    )
    summary = dataset.summary()
    write_bytes(output, json_bytes(summary))
    return summary


def split(
    store: Store,
    name: str,
    spec: Mapping[str, Any],
    dataset_json: str | Path,
    seed: int,
    output: str | Path,
    allowed_encoders: Sequence[str] = (),
) -> dict[str, Any]:
    """``tabular_split``: the pipeline's features, label, splits and folds → ``splits.json``."""
    from snakelab.tabular.datasets import Dataset
    from snakelab.tabular.splits import create_splitset

    info = read_json(dataset_json, "dataset")
    dataset = Dataset.get(int(info["id"]), store=store)
    target = spec.get("target")
    return create_splitset(
        store,
        name,
        inputs=[(dataset, dict(spec.get("input") or {}))],
        target=None if target is None else (dataset, dict(target)),
        stratifier=tabular_config.stratifier(spec),
        seed=seed,
        output=output,
        allowed_encoders=allowed_encoders,
        description=spec.get("description"),
    )


def prepare(store: Store, splits_json: str | Path, fold: str, output: str | Path) -> Path:
    """``tabular_prepare``: fit the fold's preprocessing, write its cache; the manifest path."""
    from snakelab.tabular.preprocess.fit import prepare_fold

    output = Path(output)
    manifest = prepare_fold(store, splits_json, fold, cache_root=output.parent.parent)
    if manifest.resolve() != output.resolve():
        raise InputError(output, "--output", f"expected {manifest} (cache/<fold>/manifest.json)")
    return manifest


def _label_kind(splits: Mapping[str, Any], pipeline: Mapping[str, Any]) -> tuple[bool, bool]:
    """(has label, label is one-hot encoded) of a pipeline."""
    label = splits.get("label")
    if label is None:
        return False, False
    if len(label["columns"]) > 1:
        return True, True
    encoder = (pipeline.get("target") or {}).get("encoder") or {}
    return True, str(encoder.get("class") or "").rsplit(".", 1)[-1] in ONE_HOT


def check_library_label(architecture: Mapping[str, Any], has_label: bool, onehot: bool, where: str) -> None:
    """Plan-time library/label rules of spec §7 (one-line errors)."""
    library, analysis = architecture["library"], architecture["analysis_type"]
    if not has_label and analysis != "regression":
        raise InputError(
            where, "architecture.analysis_type", "expected regression (the pipeline has no label)"
        )
    if analysis == "classification_multi" and onehot and library in {"pytorch", "sklearn"}:
        raise InputError(
            where,
            "architecture.library",
            f"{library} multi-class expects an ordinal label coder, not one-hot",
        )
    if analysis == "classification_binary" and onehot:
        raise InputError(where, "target.encoder", "binary classification expects a non-one-hot label coder")


def plan(
    store: Store,
    experiment: str,
    spec: Mapping[str, Any],
    pipeline: Mapping[str, Any],
    dataset_json: str | Path,
    splits_json: str | Path,
    seed: int,
    output: str | Path,
) -> dict[str, Any]:
    """``tabular_plan``: algorithm, hyperparameters, queue and jobs → ``plan.json`` (runs with key,
    uid, seed and task)."""
    from snakelab.store.lineage import config_digest, run_uid
    from snakelab.store.models import Hyperparamcombo, Job, Queue
    from snakelab.store.models import Hyperparamset as HyperparamsetRow
    from snakelab.store.models.experiment import Algorithm
    from snakelab.store.registry import get_or_create_id
    from snakelab.tabular import seeds
    from snakelab.tabular.algorithms import algorithm_spec
    from snakelab.tabular.hyperparams import hyperparamset

    dataset = read_json(dataset_json, "dataset")
    splits = read_json(splits_json, "splits")
    architecture = dict(spec.get("architecture") or {})
    trainer = tabular_config.trainer(spec)
    where = f"tabular.experiments.{experiment}"
    for field in ("library", "analysis_type", "fn_build"):
        if not architecture.get(field):
            raise InputError(None, f"{where}.architecture.{field}", "expected a value")
    has_label, onehot = _label_kind(splits, pipeline)
    check_library_label(architecture, has_label, onehot, where)
    algorithm = algorithm_spec(
        architecture["library"],
        architecture["analysis_type"],
        architecture["fn_build"],
        **{f: architecture.get(f) for f in ("fn_train", "fn_predict", "fn_lose", "fn_optimize")},
    )
    hps = hyperparamset(
        architecture.get("hyperparameters"),
        trainer["search_count"],
        trainer["search_percent"],
        seeds.search_seed(seed, experiment),
    )
    folds = {f["idx"]: f for f in splits["folds"]} or {-1: {"id": None, "idx": -1}}
    coordinates = run_coordinates(hps.combo_count, sorted(folds), int(trainer["repeat_count"]))
    config_hash = config_digest(spec)

    def unit(session: Any) -> dict[str, Any]:
        algorithm_id, _ = get_or_create_id(
            session, Algorithm, {"algorithm_hash": algorithm.algorithm_hash}, algorithm.as_row()
        )
        queue = session.query(Queue).filter_by(experiment=experiment, config_hash=config_hash).one_or_none()
        if queue is None:
            hps_id = session.execute(
                HyperparamsetRow.__table__.insert().values(algorithm_id=algorithm_id, **hps.as_row())
            ).inserted_primary_key[0]
            for combo in hps.combos:
                session.add(
                    Hyperparamcombo(
                        hyperparamset_id=hps_id,
                        idx=combo.idx,
                        grid_index=combo.grid_index,
                        hyperparameters=combo.hyperparameters,
                    )
                )
            queue = Queue(
                algorithm_id=algorithm_id,
                splitset_id=splits["splitset_id"],
                hyperparamset_id=hps_id,
                experiment=experiment,
                config_hash=config_hash,
                repeat_count=int(trainer["repeat_count"]),
                permute_count=int(trainer["permute_count"]),
                total_runs=len(coordinates),
            )
            session.add(queue)
            session.flush()
        combo_ids = dict(
            session.query(Hyperparamcombo.idx, Hyperparamcombo.id)
            .filter_by(hyperparamset_id=queue.hyperparamset_id)
            .all()
        )
        jobs = {}
        for combo_idx in range(hps.combo_count):
            for fold_idx, fold in folds.items():
                jobs[combo_idx, fold_idx], _ = get_or_create_id(
                    session,
                    Job,
                    {"queue_id": queue.id, "combo_idx": combo_idx, "fold_idx": fold_idx},
                    {
                        "hyperparamcombo_id": combo_ids.get(combo_idx),
                        "fold_id": fold["id"],
                        "repeat_count": int(trainer["repeat_count"]),
                    },
                )
        return {
            "queue_id": queue.id,
            "algorithm_id": algorithm_id,
            "hyperparamset_id": queue.hyperparamset_id,
            "jobs": jobs,
        }

    rows = store.transaction(unit)
    tasks = assign_tasks(len(coordinates), int(trainer["runs_per_task"]))
    runs = []
    for (combo_idx, fold_idx, repeat_idx), task in zip(coordinates, tasks, strict=True):
        key = run_key(combo_idx, fold_idx, repeat_idx)
        run_seed = seeds.run_seed(seed, experiment, combo_idx, fold_idx, repeat_idx)
        params = run_params(experiment, key, dataset["content_hash"], algorithm.algorithm_hash)
        runs.append(
            {
                "key": key,
                "uid": run_uid("tabular", "train", config_hash, [], run_seed, params),
                "seed": run_seed,
                "task": task,
                "combo_idx": combo_idx,
                "fold_idx": fold_idx,
                "repeat_idx": repeat_idx,
                "fold": fold_name(fold_idx),
                "job_id": rows["jobs"][combo_idx, fold_idx],
                "hyperparameters": hps.combos[combo_idx].hyperparameters,
            }
        )
    content = {
        "format": PLAN_FORMAT,
        "experiment": experiment,
        "config_hash": config_hash,
        "seed": seed,
        "spec": dict(spec),
        "dataset": {"id": dataset["id"], "content_hash": dataset["content_hash"]},
        "splits": str(splits_json),
        "splitset_id": splits["splitset_id"],
        "evaluation_is_test": splits.get("evaluation_is_test", False),
        "label_onehot": onehot,
        "algorithm": {**algorithm.as_row(), "id": rows["algorithm_id"]},
        "queue_id": rows["queue_id"],
        "hyperparamset_id": rows["hyperparamset_id"],
        "combos": [
            {"idx": c.idx, "grid_index": c.grid_index, "hyperparameters": c.hyperparameters}
            for c in hps.combos
        ],
        "task_count": max(tasks) + 1 if tasks else 1,
        "runs": runs,
    }
    write_bytes(output, json_bytes(content))
    return content


def run_params(experiment: str, key: str, content_hash: str, algorithm_hash: str) -> dict[str, Any]:
    """The lineage params of a tabular run (with the config hash and seed they make its uid)."""
    return {
        "experiment": experiment,
        "key": key,
        "dataset_content_hash": content_hash,
        "algorithm_hash": algorithm_hash,
    }
