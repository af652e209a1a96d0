"""Input functions and command-line fragments of the segment rules (spec §13).

R = results/segment. Runs come from segment.runs (one per repetition, id {name}__{repetition});
snakelab.segment.configs checks the section while the Snakefile is parsed (names, network shapes,
block shape, thresholds, offsets), so a bad config fails before any job runs. The blocks of a
prediction are known only after the segment_plan_blocks checkpoint.
"""

import json
import re
import shlex

from snakelab.segment import configs as segment_configs
from snakelab.segment.tasks import get_task as segment_get_task

SEGMENT_ON = "segment" in config["pipelines"] and config["segment"].get("enabled", True)
SEGMENT = config.get("segment", {})
SEGMENT_R = "results/segment"
if SEGMENT_ON:
    segment_configs.check_section(SEGMENT)
SEGMENT_RUNS = segment_configs.expand_runs(SEGMENT) if SEGMENT_ON else []
SEGMENT_RUN_IDS = [entry["run"] for entry in SEGMENT_RUNS]
SEGMENT_DATA = SEGMENT.get("data") or {}
SEGMENT_SYNTHETIC = [n for n, s in SEGMENT_DATA.items() if s.get("kind") == "spheres"]
SEGMENT_CONVERTED = [n for n, s in SEGMENT_DATA.items() if s.get("kind") == "convert"]
SEGMENT_VALIDATION = SEGMENT.get("validation") or {}
SEGMENT_PREDICT = SEGMENT.get("predict") or {}


def segment_names_pattern(names):
    """A wildcard regex matching exactly ``names`` (never matches when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def segment_json_arg(value):
    """A JSON value as one shell word."""
    return shlex.quote(json.dumps(value, sort_keys=True))


def segment_entry(wildcards):
    for entry in SEGMENT_RUNS:
        if entry["run"] == wildcards.run:
            return entry
    raise ValueError(f"unknown segment run {wildcards.run}")


def segment_resolved(wildcards):
    """The run.yaml document of the job's run (resolved at parse time)."""
    return segment_configs.resolve_run(SEGMENT, wildcards.run, SEGMENT_R)


def segment_run_json(wildcards):
    return segment_json_arg(segment_resolved(wildcards))


def segment_data_spec(wildcards):
    return segment_json_arg(SEGMENT_DATA[wildcards.dataset])


def segment_convert_args(wildcards):
    spec = SEGMENT_DATA[wildcards.dataset]
    args = [
        f"--raw {shlex.quote(spec['raw'])} --labels {shlex.quote(spec['labels'])}",
        "--voxel-size " + " ".join(str(v) for v in spec["voxel_size"]),
        "--offset " + " ".join(str(v) for v in spec.get("offset") or [0, 0, 0]),
        f"--units {shlex.quote(spec.get('units') or 'nm')}",
    ]
    for key in ("mask", "classes"):
        if spec.get(key):
            args.append(f"--{key} {shlex.quote(spec[key])}")
    return " ".join(args)


def segment_convert_inputs(wildcards):
    spec = SEGMENT_DATA[wildcards.dataset]
    return [
        re.sub(r"(\.h5|\.hdf5):.*$", r"\1", spec[k])
        for k in ("raw", "labels", "mask", "classes")
        if spec.get(k)
    ]


def segment_dataset_dir(dataset):
    return f"{SEGMENT_R}/data/{dataset}.zarr"


def segment_run_datasets(wildcards):
    """The dataset containers a run trains and validates on (those the workflow writes)."""
    split = SEGMENT["datasplits"][segment_entry(wildcards)["datasplit"]]
    if "path" in split:
        return []
    names = [e["dataset"] for e in split["train"]] + list(split.get("validate", []))
    return [segment_dataset_dir(n) for n in dict.fromkeys(names)]


def segment_validation_datasets(wildcards):
    resolved = segment_configs.resolve_run(SEGMENT, wildcards.run, SEGMENT_R)
    return [e["dataset"] for e in resolved["datasplit"]["resolved"]["validate"]]


def segment_validation_files(wildcards):
    """runs/{run}/validation/{N}/{dataset}.json of every validation point and dataset (mode jobs)."""
    from snakelab.segment.training import validation_points

    entry = segment_entry(wildcards)
    points = validation_points(
        int(entry["num_iterations"]), int(entry.get("validation_interval", 1000))
    )
    return [
        f"{SEGMENT_R}/runs/{wildcards.run}/validation/{n}/{d}.json"
        for n in points
        for d in segment_validation_datasets(wildcards)
    ]


def segment_scores_input(wildcards):
    """What select-best reads: the train job (in_job) or the gathered scores (jobs)."""
    if SEGMENT_VALIDATION.get("mode", "in_job") == "jobs":
        return f"{SEGMENT_R}/runs/{wildcards.run}/validation_scores.json"
    return f"{SEGMENT_R}/runs/{wildcards.run}/train.done.json"


def segment_criterion(run):
    """select.criterion, or the task default (affinities voi, distance {ch}__dice, one_hot mean_dice)."""
    chosen = (SEGMENT.get("select") or {}).get("criterion")
    if chosen:
        return chosen
    entry = next(e for e in SEGMENT_RUNS if e["run"] == run)
    return segment_get_task(SEGMENT["tasks"][entry["task"]]).default_criterion


def segment_best(wildcards):
    run = wildcards.run
    return f"{SEGMENT_R}/runs/{run}/best/{segment_criterion(run)}.json"


def segment_block_files(wildcards):
    """blocks/{k:05d}.npz of every block of the plan (after the plan-blocks checkpoint)."""
    plan = checkpoints.segment_plan_blocks.get(
        run=wildcards.run, volume=wildcards.volume
    ).output[0]
    with open(plan) as handle:
        count = len(json.load(handle)["blocks"])
    directory = f"{SEGMENT_R}/predict/{wildcards.run}/{wildcards.volume}/blocks"
    return [f"{directory}/{k:05d}.npz" for k in range(count)]


def segment_roi_args():
    roi = SEGMENT_PREDICT.get("roi")
    if not roi:
        return ""
    offset = " ".join(str(v) for v in roi["offset"])
    shape = " ".join(str(v) for v in roi["shape"])
    return f"--roi-offset {offset} --roi-shape {shape}"


def segment_plot_volumes(wildcards):
    return " ".join(
        f"--volume {v}={segment_dataset_dir(v)},{SEGMENT_R}/predict/{wildcards.run}/{v}"
        for v in SEGMENT_PREDICT.get("volumes") or []
    )


def segment_plot_inputs(wildcards):
    out = {
        "best": segment_best(wildcards),
        "done": f"{SEGMENT_R}/runs/{wildcards.run}/train.done.json",
    }
    for v in SEGMENT_PREDICT.get("volumes") or []:
        out[f"seg_{v}"] = f"{SEGMENT_R}/predict/{wildcards.run}/{v}/segmentation.zarr"
        out[f"pred_{v}"] = f"{SEGMENT_R}/predict/{wildcards.run}/{v}/prediction.zarr"
    return out


def segment_all_best(wildcards):
    return [
        f"{SEGMENT_R}/runs/{r}/best/{segment_criterion(r)}.json"
        for r in SEGMENT_RUN_IDS
    ]


def segment_threads(stage):
    """Threads of a torch stage: segment.resources.<stage>.threads, else segment.threads."""
    own = (SEGMENT.get("resources") or {}).get(stage) or {}
    return int(own.get("threads", SEGMENT.get("threads", 2)))


def segment_gpus():
    return int(SEGMENT.get("gpus", 0))


def segment_targets(wildcards):
    """Final outputs: best selections, per-volume scores and plots of every run, the summary plot."""
    if not SEGMENT_ON:
        return []
    out = segment_all_best(wildcards)
    for run in SEGMENT_RUN_IDS:
        for volume in SEGMENT_PREDICT.get("volumes") or []:
            out.append(f"{SEGMENT_R}/predict/{run}/{volume}/scores.json")
        out.append(f"{SEGMENT_R}/plots/{run}/loss.png")
    if SEGMENT_RUN_IDS:
        out.append(f"{SEGMENT_R}/plots/summary.png")
    return out
