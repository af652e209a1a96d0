"""Input functions and command-line fragments of the batchie rules (paths: snakelab.batchie.dag)."""

import json
import shlex

from snakelab.batchie import dag as batchie_dag

BATCHIE = config.get("batchie", {})
BATCHIE_RUN = batchie_dag.run_name(BATCHIE) if "batchie" in config["pipelines"] else ""
BATCHIE_NAME = (
    batchie_dag.screen_name(BATCHIE["screen"])
    if "batchie" in config["pipelines"]
    else ""
)
BATCHIE_ROOT = "results/batchie/{run}/{arm}/rep_{rep}"


def batchie_root(wildcards):
    return BATCHIE_ROOT.format(run=wildcards.run, arm=wildcards.arm, rep=wildcards.rep)


def batchie_class_args(role, spec):
    """``--<role> NAME --<role>-params-json '{...}'`` for a class spec of the config (empty for null)."""
    if not spec:
        return ""
    params = json.dumps(spec.get("params") or {}, sort_keys=True)
    return f"--{role} {shlex.quote(spec['name'])} --{role}-params-json {shlex.quote(params)}"


def batchie_prepare_args():
    prepare = BATCHIE["prepare"]
    args = [
        f"--seed {BATCHIE['seed']}",
        f"--holdout-fraction {prepare['holdout_fraction']}",
        batchie_class_args(
            "initial-plate-generator", prepare["initial_plate_generator"]
        ),
        batchie_class_args("plate-generator", prepare["plate_generator"]),
        batchie_class_args("plate-smoother", prepare["plate_smoother"]),
    ]
    if not prepare["combo_filter"]:
        args.append("--no-combo-filter")
    return " ".join(a for a in args if a)


def batchie_model_args():
    model, mcmc = BATCHIE["model"], BATCHIE["model"]["mcmc"]
    return " ".join(
        [
            batchie_class_args("model", model),
            f"--n-burnin {mcmc['n_burnin']} --n-samples {mcmc['n_samples']} --thin {mcmc['thin']}",
            f"--blocking {mcmc['blocking']} --joint-max-dim {mcmc['joint_max_dim']}",
            f"--backend {mcmc['backend']} --predict-block-mb {mcmc['predict_block_mb']}",
            f"--n-chains {BATCHIE['n_chains']} --seed {BATCHIE['seed']}",
        ]
    )


def batchie_scorer_args(wildcards):
    return batchie_class_args("scorer", BATCHIE["arms"][wildcards.arm]["scorer"])


def batchie_policy_args(wildcards):
    policy = batchie_class_args("policy", BATCHIE["arms"][wildcards.arm]["policy"])
    return f"{policy} --policy-fallback {BATCHIE['policy_fallback']}".strip()


def batchie_training_input(wildcards):
    """S_in(i): the screen iteration ``wildcards.iter`` trains on."""
    return batchie_dag.training_input(
        batchie_root(wildcards),
        int(wildcards.iter),
        wildcards.name,
        BATCHIE["batch_size"],
    )


def batchie_step_input(wildcards):
    """S_step(i, j): the screen step (iter, plate) scores on and reveals from."""
    return batchie_dag.step_input(
        batchie_root(wildcards),
        int(wildcards.iter),
        int(wildcards.plate),
        wildcards.name,
        BATCHIE["batch_size"],
    )


def batchie_evaluation_input(wildcards):
    """The screen the model is evaluated on: the held-out test screen, or S_in(i) (``training``)."""
    if BATCHIE["evaluation"]["screen"] == "test":
        return (
            f"{batchie_root(wildcards)}/iter_0/plate_0/{wildcards.name}/test.screen.h5"
        )
    return batchie_training_input(wildcards)


def batchie_thetas(wildcards):
    """The thetas of every chain of the iteration, in chain-index order."""
    directory = batchie_dag.step_dir(
        batchie_root(wildcards), int(wildcards.iter), 0, wildcards.name
    )
    return [f"{directory}/thetas_{c}.h5" for c in range(BATCHIE["n_chains"])]


def batchie_distance_chunks(wildcards):
    directory = batchie_dag.step_dir(
        batchie_root(wildcards), int(wildcards.iter), 0, wildcards.name
    )
    return [
        f"{directory}/distance_matrix_chunk_{k}.h5" for k in range(BATCHIE["n_chunks"])
    ]


def batchie_score_chunks(wildcards):
    directory = batchie_dag.step_dir(
        batchie_root(wildcards),
        int(wildcards.iter),
        int(wildcards.plate),
        wildcards.name,
    )
    return [f"{directory}/score_chunk_{k}.h5" for k in range(BATCHIE["n_chunks"])]


def batchie_batch_selected(wildcards):
    """``selected_plate`` files of the earlier steps of this iteration's batch."""
    return batchie_dag.batch_selections(
        batchie_root(wildcards),
        int(wildcards.iter),
        int(wildcards.plate),
        wildcards.name,
    )


def batchie_replicate_files(run, arm, rep):
    """Every step file of one arm × replicate; needs the prepare checkpoint to know U."""
    training = checkpoints.batchie_prepare.get(
        run=run, arm=arm, rep=rep, name=BATCHIE_NAME
    ).output.training
    root = BATCHIE_ROOT.format(run=run, arm=arm, rep=rep)
    files = [training, f"{root}/iter_0/plate_0/{BATCHIE_NAME}/test.screen.h5"]
    u = batchie_count_unobserved(training)
    for i, j in batchie_dag.steps(u, BATCHIE["batch_size"]):
        files += batchie_dag.step_files(
            root, i, j, BATCHIE_NAME, BATCHIE["n_chains"], BATCHIE["n_chunks"]
        )
    return files


def batchie_count_unobserved(path):
    from snakelab.batchie.io import count_unobserved_plates

    return count_unobserved_plates(path)


def batchie_replicates():
    return [
        (arm, rep) for arm in BATCHIE["arms"] for rep in range(BATCHIE["replicates"])
    ]


def batchie_summary_inputs(wildcards):
    return [
        f
        for arm, rep in batchie_replicates()
        for f in batchie_replicate_files(wildcards.run, arm, rep)
    ]


def batchie_summary_runs(wildcards):
    return [
        BATCHIE_ROOT.format(run=wildcards.run, arm=arm, rep=rep)
        for arm, rep in batchie_replicates()
    ]
