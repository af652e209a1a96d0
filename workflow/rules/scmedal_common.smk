"""Input functions, path patterns and targets of the scmedal rules (spec §7, §12).

Paths come from snakelab.scmedal.paths.Tree (the same code the CLI stages use); run names are config
hashes computed here at parse time (snakelab.scmedal.config, standard library only). Patterns use the
wildcards dataset, scenario, model, run, fold, split, subset_id and analysis; "<s>" in a template
stands for each split.
"""

import json
import os
import re
import shlex

from snakelab.scmedal import config as scmedal_config
from snakelab.scmedal.counterfactuals import subset_id as scmedal_subset_id
from snakelab.scmedal.paths import Tree as ScmedalTree

SCMEDAL_ON = "scmedal" in config["pipelines"]
SCMEDAL = scmedal_config.section(config)
SCMEDAL_SPLITS = list(scmedal_config.SPLITS)
SCMEDAL_MODELS = "|".join(scmedal_config.MODELS)
SCMEDAL_EXTERNAL = list(scmedal_config.external_latents(SCMEDAL))
# latents scored without training: the PCA baseline and the external latents
SCMEDAL_SCORED_ONLY = "|".join(["pca", *(re.escape(n) for n in SCMEDAL_EXTERNAL)])
# latents with a UMAP: the models, the PCA baseline and the external latents
SCMEDAL_UMAP_LATENTS = "|".join(
    [*scmedal_config.MODELS, "X_pca", *(re.escape(n) for n in SCMEDAL_EXTERNAL)]
)
SCMEDAL_N = SCMEDAL["scores"]["sample_size"]
SCMEDAL_ROOT = os.path.join(SCMEDAL["outdir"], "{dataset}_outputs")
SCMEDAL_DATA = os.path.join(SCMEDAL_ROOT, "data", "{scenario}")
SCMEDAL_LATENT = os.path.join(
    SCMEDAL_ROOT, "latent_space", "{scenario}", "{model}", "{run}"
)
SCMEDAL_FIGURES = os.path.join(
    SCMEDAL_ROOT, "figures", "{scenario}", "{model}", "{run}"
)
SCMEDAL_SAVED = os.path.join(
    SCMEDAL_ROOT, "saved_models", "{scenario}", "{model}", "{run}"
)
SCMEDAL_MEC = os.path.join(SCMEDAL_ROOT, "latent_space", "{scenario}", "mec")
SCMEDAL_COMPARE = os.path.join(
    SCMEDAL_ROOT, "compare_models", "{scenario}", "{analysis}"
)
SCMEDAL_GPU = 1 if SCMEDAL["training"]["device"] == "gpu" else 0


def scmedal_each_split(template, splits=None):
    """``template`` with "<s>" replaced by each split (default: all three)."""
    return [
        template.replace("<s>", s)
        for s in (SCMEDAL_SPLITS if splits is None else splits)
    ]


def scmedal_spec():
    """The resolved scmedal section as one shell word (what every stage reads), given as a function:
    Snakemake would read ``{fold}`` of an external latent's path pattern in a params string as a wildcard.
    """
    word = shlex.quote(json.dumps(SCMEDAL, sort_keys=True))
    return lambda wildcards: word


def scmedal_tree(wildcards):
    return ScmedalTree(SCMEDAL, wildcards.dataset)


def scmedal_input_file(wildcards):
    return scmedal_config.dataset(SCMEDAL, wildcards.dataset)["input"]


def scmedal_adata(wildcards):
    return scmedal_tree(wildcards).adata()


def scmedal_data(wildcards):
    tree = scmedal_tree(wildcards)
    return {"adata": tree.adata(), "splits": tree.splits()}


def scmedal_mem_mb(stage, factor):
    """Memory of a job: the configured ``stage`` memory, at least ``factor`` × the dataset's dense
    size (n_cells × G × 4 B, from the preprocessed file's size bound) plus 1 GB of framework.
    """
    base = stage_mem_mb("scmedal", stage)

    def mem(wildcards, input, attempt):
        size = getattr(input, "size_mb", 0) or 0
        return max(base(wildcards, attempt), int(attempt * (1000 + factor * size)))

    return mem


def scmedal_scores_input(wildcards):
    tree = scmedal_tree(wildcards)
    latents = [
        tree.latent(wildcards.model, wildcards.fold, s)
        for s in SCMEDAL["scores"]["splits"]
    ]
    return {"latents": latents, "splits": tree.splits(), "adata": tree.adata()}


def scmedal_fold_scores(wildcards):
    tree = scmedal_tree(wildcards)
    return [
        tree.scores(wildcards.model, k, s)
        for k in SCMEDAL["splits"]["folds"]
        for s in SCMEDAL["scores"]["splits"]
    ]


def scmedal_fold_histories(wildcards):
    tree = scmedal_tree(wildcards)
    return [tree.history(wildcards.model, k) for k in SCMEDAL["splits"]["folds"]]


def scmedal_compare_input(wildcards):
    tree = scmedal_tree(wildcards)
    split = SCMEDAL["compare"]["split"]
    return [tree.all_scores(m, split) for m in scmedal_config.compared_models(SCMEDAL)]


def scmedal_subset_spec(kind, index, fold):
    """The subset spec of counterfactuals.subsets[index] (kind "subset") or genomap.maps[index] ("map")."""
    from snakelab.scmedal.stages import counterfactual_subset

    if kind == "map":
        return counterfactual_subset(SCMEDAL, int(fold), None, index)
    return counterfactual_subset(SCMEDAL, int(fold), index, None)


def scmedal_cf_requests():
    """[(kind, index, fold, split, subset_id)] of every counterfactual file the config asks for."""
    out = []
    for i, _ in enumerate(SCMEDAL["counterfactuals"]["subsets"]):
        for fold in SCMEDAL["splits"]["folds"]:
            spec = scmedal_subset_spec("subset", i, fold)
            out.append(("subset", i, fold, spec["split"], scmedal_subset_id(spec)))
    for i, item in enumerate(SCMEDAL["genomap"]["maps"]):
        spec = scmedal_subset_spec("map", i, item["fold"])
        out.append(("map", i, item["fold"], spec["split"], scmedal_subset_id(spec)))
    return out


def scmedal_cf_args(wildcards):
    """``--subset i`` or ``--map i`` of the request whose file the job writes."""
    for kind, index, fold, split, sid in scmedal_cf_requests():
        if (str(fold), split, sid) == (
            wildcards.fold,
            wildcards.split,
            wildcards.subset_id,
        ):
            return f"--{kind} {index}"
    raise ValueError(f"no counterfactual request with id {wildcards.subset_id}")


def scmedal_cf_input(wildcards):
    tree = scmedal_tree(wildcards)
    return {
        "training": tree.training_json("scmedalre", wildcards.fold),
        "adata": tree.adata(),
        "splits": tree.splits(),
    }


def scmedal_umap_input(wildcards):
    tree = scmedal_tree(wildcards)
    inputs = {"adata": tree.adata(), "splits": tree.splits()}
    if wildcards.model != "X_pca":
        inputs["latent"] = tree.latent(wildcards.model, wildcards.fold, wildcards.split)
    return inputs


def scmedal_genomap_input(wildcards):
    """FE reconstruction and RE counterfactuals of the map's cells (fold of the map)."""
    tree = scmedal_tree(wildcards)
    item = SCMEDAL["genomap"]["maps"][int(wildcards.map)]
    spec = scmedal_subset_spec("map", int(wildcards.map), item["fold"])
    return {
        "recon": tree.recon("scmedalfe", item["fold"], item["split"]),
        "cf": tree.counterfactuals(
            item["fold"], item["split"], scmedal_subset_id(spec)
        ),
        "adata": tree.adata(),
        "splits": tree.splits(),
    }


def scmedal_genomap_sentinels(wildcards):
    tree = scmedal_tree(wildcards)
    return [
        os.path.join(tree.analysis(), "genomap_runs", f"map_{i}.json")
        for i, _ in enumerate(SCMEDAL["genomap"]["maps"])
    ]


def scmedal_mec_lookup(wildcards):
    """(features, target) of the MEC run directory ``mec_run``."""
    for features, target in scmedal_mec_runs(wildcards.dataset):
        name = scmedal_config.mec_run_name(SCMEDAL, wildcards.dataset, features, target)
        if name == wildcards.mec_run:
            return features, target
    raise ValueError(f"no MEC run named {wildcards.mec_run}")


def scmedal_mec_run_args(wildcards):
    features, target = scmedal_mec_lookup(wildcards)
    return f"--features {shlex.quote(features)} --target {shlex.quote(target)}"


def scmedal_mec_latents(wildcards):
    """The latents of every split of fold ``fold`` for the run's feature set."""
    tree = scmedal_tree(wildcards)
    paths = []
    features, _ = scmedal_mec_lookup(wildcards)
    for part in features.split("+"):
        latent = scmedal_config.latent_source(SCMEDAL, part)
        paths += [tree.latent(latent, wildcards.fold, s) for s in SCMEDAL_SPLITS]
    return {"latents": paths, "adata": tree.adata(), "splits": tree.splits()}


def scmedal_mec_runs(dataset):
    """[(features, target)] of the config's MEC runs."""
    return [
        (f, t)
        for t in SCMEDAL["mec"]["targets"]
        for f in scmedal_config.mec_features(SCMEDAL)
    ]


def scmedal_mec_fold_metrics(wildcards):
    tree = scmedal_tree(wildcards)
    return [
        tree.mec_metrics(f, t, k)
        for f, t in scmedal_mec_runs(wildcards.dataset)
        for k in SCMEDAL["splits"]["folds"]
    ]


def scmedal_model_targets(tree, model):
    """Final files of one model (or pca, or an external latent): the aggregates and, for a trained
    model, every fold's training sentinel and the loss figure."""
    out = [tree.mean_scores(model, s) for s in SCMEDAL["scores"]["splits"]]
    if model in scmedal_config.MODELS:
        out += [tree.training_json(model, k) for k in SCMEDAL["splits"]["folds"]] + [
            tree.avg_loss_png(model)
        ]
    return out


def scmedal_targets(wildcards):
    """Everything ``scmedal_all`` builds, for every dataset."""
    if not SCMEDAL_ON:
        return []
    out = []
    for name in SCMEDAL["datasets"]:
        tree = ScmedalTree(SCMEDAL, name)
        for model in [*SCMEDAL["models"], "pca", *SCMEDAL_EXTERNAL]:
            out += scmedal_model_targets(tree, model)
        split = SCMEDAL["compare"]["split"]
        out += [
            tree.compare_file(split, k)
            for k in ("allscores", "means", "ci", "png", "min", "max")
        ]
        for run in SCMEDAL["umap"]["runs"]:
            for model in [*SCMEDAL["models"], "X_pca", *SCMEDAL_EXTERNAL]:
                out.append(tree.umap_done(model, run["split"], run["fold"]))
        for kind, index, fold, split_, sid in scmedal_cf_requests():
            out.append(tree.counterfactuals(fold, split_, sid))
        out += [
            os.path.join(tree.analysis(), "genomap_runs", f"map_{i}.json")
            for i, _ in enumerate(SCMEDAL["genomap"]["maps"])
        ]
        stats = SCMEDAL["genomap"]["stats"]
        if stats and SCMEDAL["genomap"]["maps"]:
            out.append(tree.genomap_stats(stats.get("test", "mwu")))
        if SCMEDAL["mec"]["targets"]:
            out.append(tree.mec_summary())
    return out


register_targets("scmedal", scmedal_targets)
