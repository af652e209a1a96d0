"""Input functions and command-line fragments of the tabular rules (spec §11).

R = tabular.results (default results/tabular). The DAG is known at parse time from config alone:
the folds of a pipeline (stratifier.fold_count) and the tasks of an experiment
(snakelab.tabular.plan.task_count: runs ÷ trainer.runs_per_task). snakelab.tabular.config and
snakelab.tabular.plan import only the standard library and yaml.
"""

import json
import os
import shlex

from snakelab.tabular import config as tabular_config
from snakelab.tabular import plan as tabular_plan
from snakelab.tabular.algorithms.references import module_file as tabular_module_file

TABULAR_ON = "tabular" in config["pipelines"]
TABULAR = (
    tabular_config.tabular_section(config)
    if TABULAR_ON
    else tabular_config.tabular_section({})
)
TABULAR_R = TABULAR["results"]
if TABULAR_ON:
    tabular_config.check_tabular(TABULAR)
TABULAR_FUNCTIONS = ("fn_build", "fn_train", "fn_predict", "fn_lose", "fn_optimize")


def tabular_json_arg(value):
    """A JSON value as one shell word."""
    return shlex.quote(json.dumps(value, sort_keys=True))


def tabular_section_spec(kind, name):
    """``tabular.<kind>.<name>`` as a shell-quoted JSON word (the rules pass the resolved section)."""
    return tabular_json_arg(tabular_config.named(TABULAR, kind, name))


def tabular_store_args():
    """``--store URL`` (store.url) and the store settings, for every tabular stage."""
    settings = {k: v for k, v in config.get("store", {}).items() if k != "url"}
    return f"{store_args()} --store-settings {tabular_json_arg(settings)}".strip()


def tabular_experiment(wildcards):
    return tabular_config.named(TABULAR, "experiments", wildcards.experiment)


def tabular_pipeline_of(wildcards):
    """The pipeline name of an experiment's (or a pipeline's) job."""
    if hasattr(wildcards, "pipeline"):
        return wildcards.pipeline
    return tabular_experiment(wildcards)["pipeline"]


def tabular_dataset_json(wildcards):
    """R/datasets/<dataset>.json of the job's pipeline."""
    pipeline = tabular_config.named(
        TABULAR, "pipelines", tabular_pipeline_of(wildcards)
    )
    return os.path.join(TABULAR_R, "datasets", f"{pipeline['dataset']}.json")


def tabular_dataset_source(wildcards):
    """The dataset's source file when it is a path (an input of the register rule), else nothing."""
    source = tabular_config.named(TABULAR, "datasets", wildcards.dataset).get(
        "source", ""
    )
    return [] if str(source).startswith("sklearn:") else [source]


def tabular_splits_json(wildcards):
    return os.path.join(
        TABULAR_R, "pipelines", tabular_pipeline_of(wildcards), "splits.json"
    )


def tabular_fold_names(pipeline):
    pipeline_spec = tabular_config.named(TABULAR, "pipelines", pipeline)
    return [tabular_plan.fold_name(i) for i in tabular_plan.fold_indices(pipeline_spec)]


def tabular_manifests(wildcards):
    """Every fold manifest of the experiment's pipeline."""
    pipeline = tabular_pipeline_of(wildcards)
    return [
        os.path.join(TABULAR_R, "pipelines", pipeline, "cache", fold, "manifest.json")
        for fold in tabular_fold_names(pipeline)
    ]


def tabular_module_files(wildcards):
    """Module files of the experiment's function references (an edited model reruns the plan)."""
    architecture = tabular_experiment(wildcards).get("architecture") or {}
    files = []
    for field in TABULAR_FUNCTIONS:
        ref = architecture.get(field)
        path = tabular_module_file(ref) if ref else None
        if path and path not in files:
            files.append(path)
    return files


def tabular_plan_args(wildcards):
    """``--spec`` (experiment) and ``--pipeline-spec`` of the plan rule."""
    experiment = tabular_experiment(wildcards)
    return (
        f"--spec {tabular_json_arg(experiment)}"
        f" --pipeline-spec {tabular_section_spec('pipelines', experiment['pipeline'])}"
    )


def tabular_trainer(wildcards):
    return tabular_config.trainer(tabular_experiment(wildcards))


def tabular_train_threads(wildcards):
    return int(tabular_trainer(wildcards)["threads"])


def tabular_train_mem_mb(wildcards, attempt):
    return int(tabular_trainer(wildcards)["mem_mb"]) * attempt


def tabular_train_runtime(wildcards, attempt):
    return int(tabular_trainer(wildcards)["runtime"]) * attempt


def tabular_task_files(wildcards):
    """Every task summary of an experiment."""
    return [
        os.path.join(
            TABULAR_R, "experiments", wildcards.experiment, "tasks", f"task_{task}.json"
        )
        for task in tabular_plan.task_names(TABULAR, wildcards.experiment)
    ]


def tabular_targets(wildcards):
    """The aggregate tables and the plots of every experiment."""
    if not TABULAR_ON or not TABULAR.get("enabled", True):
        return []
    files = []
    for experiment in TABULAR["experiments"]:
        root = os.path.join(TABULAR_R, "experiments", experiment)
        files.append(os.path.join(root, "best.json"))
        files.append(os.path.join(root, "plots"))
    return files


register_targets("tabular", tabular_targets)
