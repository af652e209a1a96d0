"""Input functions and command-line fragments of the batchie rules (paths: snakelab.batchie.dag).

Retrospective jobs have the wildcards run, arm, rep (root R = results/batchie/{run}/{arm}/rep_{rep});
prospective jobs have run only (root P = results/batchie/{run}/prospective). While the Snakefile is
parsed, every class spec of the config is built once (snakelab.batchie.config.check_config), so a
misspelt class or parameter fails before any job runs.
"""

import json
import os
import shlex

from snakelab.batchie import dag as batchie_dag
from snakelab.batchie.config import check_config as batchie_check_config

BATCHIE = config.get("batchie", {})
if "batchie" in config["pipelines"]:
    batchie_check_config(BATCHIE)
BATCHIE_RUN = batchie_dag.run_name(BATCHIE) if "batchie" in config["pipelines"] else ""
BATCHIE_NAME = (
    batchie_dag.screen_name(BATCHIE["screen"])
    if "batchie" in config["pipelines"]
    else ""
)
BATCHIE_ROOT = "results/batchie/{run}/{arm}/rep_{rep}"


def batchie_is_prospective(wildcards):
    """True for a job of a prospective round (its wildcards name no arm)."""
    return not hasattr(wildcards, "arm")


def batchie_root(wildcards):
    """R of a retrospective job, P of a prospective one."""
    if batchie_is_prospective(wildcards):
        return batchie_dag.prospective_root(wildcards.run)
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


def batchie_strategy(wildcards):
    """The ``{scorer, policy}`` of a job: its arm's, or ``prospective``'s."""
    if batchie_is_prospective(wildcards):
        return BATCHIE["prospective"]
    return BATCHIE["arms"][wildcards.arm]


def batchie_scorer_args(wildcards):
    return batchie_class_args("scorer", batchie_strategy(wildcards)["scorer"])


def batchie_policy_args(wildcards):
    policy = batchie_class_args("policy", batchie_strategy(wildcards)["policy"])
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


# Prospective rounds (spec §3.6): round r works on S_r; U_r is read from S_r when the DAG needs it.


def batchie_round_screen(wildcards):
    """S_r of round ``wildcards.iter``: the input screen, or the ingest of the previous round's results."""
    return batchie_dag.round_input(
        batchie_dag.prospective_root(wildcards.run),
        int(wildcards.iter),
        BATCHIE["screen"],
    )


def batchie_round_unobserved(run, iteration):
    """U_r. Round 0 reads the input screen (after the demo-data checkpoint when it is a demo screen);
    round r > 0 waits for the ingest checkpoint that writes S_r."""
    if iteration > 0:
        screen = checkpoints.batchie_ingest.get(run=run, iter=iteration).output[0]
        return batchie_count_unobserved(screen)
    screen = BATCHIE["screen"]
    demo = {os.path.normpath(p) for p in rules.batchie_demo_data.output}
    if os.path.normpath(screen) in demo:
        checkpoints.batchie_demo_data.get()
    if not os.path.exists(screen):
        raise ValueError(
            f"config batchie.screen: expected an existing screen file, found none at {screen!r}"
        )
    from snakelab.batchie.prospective import check_input_screen

    return check_input_screen(screen)


def batchie_ingest_inputs(wildcards):
    """S_{r-1} and the results table of round r - 1 (``prospective.observations[r - 1]``)."""
    r = int(wildcards.iter)
    tables = BATCHIE["prospective"]["observations"]
    if not 1 <= r <= len(tables):
        raise ValueError(
            f"config batchie.prospective.observations: round {r} needs results table {r - 1}, "
            f"found {len(tables)} tables"
        )
    root = batchie_dag.prospective_root(wildcards.run)
    return {
        "screen": batchie_dag.round_input(root, r - 1, BATCHIE["screen"]),
        "observations": tables[r - 1],
    }


def batchie_export_inputs(wildcards):
    """S_r, the ``selected_plate`` of each of the B_r steps and every step's score chunks."""
    r = int(wildcards.iter)
    root = batchie_dag.prospective_root(wildcards.run)
    steps = batchie_dag.round_steps(
        batchie_round_unobserved(wildcards.run, r), BATCHIE["batch_size"]
    )
    dirs = [batchie_dag.step_dir(root, r, j, BATCHIE_NAME) for j in range(steps)]
    return {
        "screen": batchie_round_screen(wildcards),
        "selected": [f"{d}/selected_plate" for d in dirs],
        "scores": [
            f"{d}/score_chunk_{k}.h5" for d in dirs for k in range(BATCHIE["n_chunks"])
        ],
    }


def batchie_prospective_files(run):
    """Every file of rounds 0..len(prospective.observations)."""
    root = batchie_dag.prospective_root(run)
    files = []
    for r in range(len(BATCHIE["prospective"]["observations"]) + 1):
        files += batchie_dag.round_files(
            root,
            r,
            BATCHIE_NAME,
            batchie_round_unobserved(run, r),
            BATCHIE["batch_size"],
            BATCHIE["n_chains"],
            BATCHIE["n_chunks"],
        )
    return files


def batchie_targets(wildcards):
    """The demo screens and the final files of the configured mode: every round (prospective) or
    the summary over arms and replicates (retrospective)."""
    files = list(rules.batchie_demo_data.output)
    if BATCHIE["mode"] == "prospective":
        return files + batchie_prospective_files(BATCHIE_RUN)
    return files + expand(rules.batchie_summary.output, run=BATCHIE_RUN)
