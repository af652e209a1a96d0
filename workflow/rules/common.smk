"""Shared helpers of the workflow: per-stage resources from the config, and the registry of targets."""

import shlex

PIPELINE_TARGETS = {}


def register_targets(pipeline, targets):
    """Record the input function giving the final outputs of ``pipeline`` (the default target)."""
    PIPELINE_TARGETS[pipeline] = targets


def all_targets(wildcards):
    """Final outputs of every enabled pipeline."""
    return [
        path for targets in PIPELINE_TARGETS.values() for path in targets(wildcards)
    ]


def stage_resources(pipeline, stage):
    """``threads``, ``mem_mb`` and ``runtime`` (minutes) of a stage: ``<pipeline>.resources.<stage>``
    overrides ``<pipeline>.resources.default`` key by key."""
    section = config[pipeline]["resources"]
    merged = dict(section["default"])
    merged.update(section.get(stage, {}))
    return merged


def stage_threads(pipeline, stage):
    """Threads of a stage (see ``stage_resources``)."""
    return stage_resources(pipeline, stage)["threads"]


def stage_mem_mb(pipeline, stage):
    """Memory of a stage in MB, doubled on each retry (``attempt`` 1, 2, 3 → ×1, ×2, ×3)."""
    mem_mb = stage_resources(pipeline, stage)["mem_mb"]
    return lambda wildcards, attempt: mem_mb * attempt


def stage_runtime(pipeline, stage):
    """Wall-time limit of a stage in minutes, scaled by the retry ``attempt``."""
    runtime = stage_resources(pipeline, stage)["runtime"]
    return lambda wildcards, attempt: runtime * attempt


def store_args():
    """``--store URL`` when the config names a metastore (``store.url``), else nothing: stages then
    record lineage only if SNAKELAB_STORE_URL is set."""
    url = config.get("store", {}).get("url")
    return f"--store {shlex.quote(url)}" if url else ""
