"""Input functions and paths of the imnn rules (spec §12).

The ``imnn:`` section is resolved and checked at parse time (snakelab.imnn.config imports no JAX), so
a bad config fails before any job with one line. R = <results>/<run>, run = imnn-<8 hex of the
section's hash>.
"""

import json
import os
import shlex

import numpy as np

from snakemake.exceptions import WorkflowError

from snakelab.core.errors import InputError
from snakelab.imnn import config as imnn_config

IMNN_ON = "imnn" in config["pipelines"] and config["imnn"].get("enabled", True)
if IMNN_ON:
    try:
        IMNN = imnn_config.resolve(config["imnn"], "config")
    except InputError as exc:
        raise WorkflowError(f"error: {exc}") from None
    IMNN_RUN = imnn_config.run_name(IMNN)
    IMNN_R = f"{IMNN['results']}/{IMNN_RUN}"
    IMNN_SIM_SETS = imnn_config.simulated_sets(IMNN)
else:
    IMNN = {}
    IMNN_RUN = "disabled"
    IMNN_R = "results/imnn/disabled"
    IMNN_SIM_SETS = []


def imnn_section_json():
    """The section as one shell word of JSON (for the config stage)."""
    return shlex.quote(json.dumps(config["imnn"], sort_keys=True))


def imnn_fit_sets():
    """Sets the fit reads: training (gradient, numerical) and validation (when validating)."""
    sets = [] if IMNN["mode"] == "simulator" else ["fiducial", "derivative"]
    if IMNN["validate"]:
        sets += ["validation_fiducial", "validation_derivative"]
    return sets


def imnn_chunks(set_name):
    """The chunk files of one simulated set."""
    return [
        f"{IMNN_R}/sims/{set_name}/chunk_{c:03d}.npz" for c in range(IMNN["n_chunks"])
    ]


def imnn_external(set_name):
    """The external .npy of a set (data: given), else an empty list."""
    data = IMNN.get("data") or {}
    path = data.get(set_name)
    return [path] if path else []


def imnn_set_inputs(wildcards):
    """What the tfrecords stage of one set reads: its chunks or its external array."""
    if wildcards.set in IMNN_SIM_SETS:
        return imnn_chunks(wildcards.set)
    return imnn_external(wildcards.set)


def imnn_fit_inputs(wildcards):
    """Config plus chunks/arrays (memory, aggregated) or TFRecords directories (dataset)."""
    paths = [f"{IMNN_R}/config.json"]
    for set_name in imnn_fit_sets():
        if IMNN["storage"] == "dataset":
            paths.append(f"{IMNN_R}/tfrecords/{set_name}")
        elif set_name in IMNN_SIM_SETS:
            paths += imnn_chunks(set_name)
        else:
            paths += imnn_external(set_name)
    return paths


def imnn_fit_args():
    """--sims-dir or --tfrecords-dir of the fit stage."""
    if IMNN["storage"] == "dataset":
        return f"--tfrecords-dir {IMNN_R}/tfrecords"
    return f"--sims-dir {IMNN_R}/sims" if IMNN_SIM_SETS else ""


def imnn_sims_arg():
    """--sims-dir of the tfrecords stage (none with external data)."""
    return f"--sims-dir {IMNN_R}/sims" if IMNN_SIM_SETS else ""


def imnn_target_inputs(wildcards):
    """The target data file when target.path is given."""
    return [IMNN["target"]["path"]] if "path" in IMNN["target"] else []


def imnn_n_targets():
    """Number of targets (theta list or the rows of target.path)."""
    target = IMNN["target"]
    if "theta" in target:
        return len(target["theta"])
    return int(np.load(target["path"], mmap_mode="r").shape[0])


def imnn_abc_chunks(wildcards=None):
    """The ABC chunk files."""
    return [
        f"{IMNN_R}/lfi/abc_chunk_{c:03d}.npz"
        for c in range(IMNN["lfi"]["abc"]["n_chunks"])
    ]


def imnn_pmc_on():
    """PMC runs when enabled and a simulator exists."""
    return IMNN["lfi"]["pmc"]["enabled"] and IMNN.get("simulator") is not None


def imnn_lfi_on():
    """ABC and PMC need a simulator; GA always runs."""
    return IMNN.get("simulator") is not None


def imnn_plot_inputs(wildcards):
    """History, metrics, targets and the posteriors that exist for this config."""
    paths = {
        "history": f"{IMNN_R}/fit/history.npz",
        "metrics": f"{IMNN_R}/fit/metrics.json",
        "targets": f"{IMNN_R}/compress/targets.npz",
        "ga": f"{IMNN_R}/lfi/ga.npz",
    }
    if imnn_lfi_on():
        paths["abc"] = f"{IMNN_R}/lfi/abc.npz"
    if imnn_pmc_on():
        paths["pmc"] = f"{IMNN_R}/lfi/pmc.npz"
    return paths


def imnn_plot_args(wildcards, input):
    """--abc/--pmc options of the plot stage for the posteriors present."""
    args = []
    if "abc" in input.keys():
        args.append(f"--abc {input.abc}")
    if "pmc" in input.keys():
        args.append(f"--pmc {input.pmc}")
    return " ".join(args)


def imnn_plot_outputs():
    """plots/history.png, posterior_summary.json and one posterior_t{t}.png per target."""
    return [
        f"{IMNN_R}/plots/history.png",
        f"{IMNN_R}/plots/posterior_summary.json",
    ] + [f"{IMNN_R}/plots/posterior_t{t}.png" for t in range(imnn_n_targets())]


def imnn_pmc_abc_chunks(wildcards):
    """The ABC chunks PMC starts from (none when n_initial is set)."""
    return imnn_abc_chunks() if IMNN["lfi"]["pmc"]["n_initial"] is None else []


def imnn_targets(wildcards):
    """Final outputs of the imnn pipeline (rule all)."""
    if not IMNN_ON:
        return []
    return imnn_plot_outputs() + [f"{IMNN_R}/fit/metrics.json"]
