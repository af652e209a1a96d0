"""batchie: Bayesian active learning for combination drug screens (BATCHIE, spec §3).

Retrospective (batchie.mode: retrospective): results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/
plate_{plate}/{name}/ (BATCHIE's documented layout below the run/arm/replicate prefix).
Prospective (batchie.mode: prospective): results/batchie/{run}/prospective/iter_{iter}/..., one round
per results table in batchie.prospective.observations, each ending in next_batch.tsv and
next_batch_experiments.tsv. Paths and step arithmetic: snakelab.batchie.dag.
"""


include: "batchie_common.smk"


wildcard_constraints:
    run="[^/]+",
    arm="[^/]+",
    name="[^/]+",
    rep=r"\d+",
    iter=r"\d+",
    plate=r"\d+",
    chain=r"\d+",
    chunk=r"\d+",


# a checkpoint so that a prospective run on a demo screen can read its unobserved plates
checkpoint batchie_demo_data:
    output:
        unmasked="resources/batchie/unmasked_screen.h5",
        masked="resources/batchie/masked_screen.h5",
    log:
        "logs/batchie/demo_data.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "demo_data")
    resources:
        mem_mb=stage_mem_mb("batchie", "demo_data"),
        runtime=stage_runtime("batchie", "demo_data"),
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.unmasked),
    shell:
        "snakelab batchie make-demo --output-dir {params.outdir} --log {log}"


checkpoint batchie_prepare:
    input:
        screen=BATCHIE["screen"],
    output:
        training="results/batchie/{run}/{arm}/rep_{rep}/iter_0/plate_0/{name}/training.screen.h5",
        test="results/batchie/{run}/{arm}/rep_{rep}/iter_0/plate_0/{name}/test.screen.h5",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_0/plate_0/{name}/prepare.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "prepare")
    resources:
        mem_mb=stage_mem_mb("batchie", "prepare"),
        runtime=stage_runtime("batchie", "prepare"),
    params:
        args=batchie_prepare_args(),
    shell:
        "snakelab batchie prepare --data {input.screen} --training-output {output.training}"
        " --test-output {output.test} --rep {wildcards.rep} {params.args} --log {log}"


rule batchie_train:
    input:
        screen=batchie_training_input,
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/thetas_{chain}.h5",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/train_{chain}.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "train")
    resources:
        mem_mb=stage_mem_mb("batchie", "train"),
        runtime=stage_runtime("batchie", "train"),
    params:
        args=batchie_model_args(),
    shell:
        "snakelab batchie train --data {input.screen} --output {output} --chain-index {wildcards.chain}"
        " --rep {wildcards.rep} --iter {wildcards.iter} {params.args}"
        " --threads {threads} --progress --log {log}"


rule batchie_evaluate:
    input:
        screen=batchie_evaluation_input,
        thetas=batchie_thetas,
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/model_evaluation.h5",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/evaluate.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "evaluate")
    resources:
        mem_mb=stage_mem_mb("batchie", "evaluate"),
        runtime=stage_runtime("batchie", "evaluate"),
    shell:
        "snakelab batchie evaluate --screen {input.screen} --thetas {input.thetas} --output {output}"
        " --threads {threads} --log {log}"


rule batchie_analyze:
    input:
        evaluation="results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/model_evaluation.h5",
        screen=batchie_evaluation_input,
        thetas=batchie_thetas,
    output:
        directory(
            "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/model_evaluation_analysis"
        ),
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/analyze.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "analyze")
    resources:
        mem_mb=stage_mem_mb("batchie", "analyze"),
        runtime=stage_runtime("batchie", "analyze"),
    shell:
        "snakelab batchie analyze --model-evaluation {input.evaluation} --screen {input.screen}"
        " --thetas {input.thetas} --output-dir {output} --threads {threads} --log {log}"


rule batchie_distance:
    input:
        screen=batchie_training_input,
        thetas=batchie_thetas,
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/distance_matrix_chunk_{chunk}.h5",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_0/{name}/distance_{chunk}.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "distance")
    resources:
        mem_mb=stage_mem_mb("batchie", "distance"),
        runtime=stage_runtime("batchie", "distance"),
    params:
        metric=batchie_class_args("distance-metric", BATCHIE["distance"]),
        n_chunks=BATCHIE["n_chunks"],
    shell:
        "snakelab batchie distance --data {input.screen} --thetas {input.thetas} --output {output}"
        " {params.metric} --n-chunks {params.n_chunks} --chunk-index {wildcards.chunk}"
        " --threads {threads} --log {log}"


rule batchie_score:
    input:
        screen=batchie_step_input,
        thetas=batchie_thetas,
        distances=batchie_distance_chunks,
        selected=batchie_batch_selected,
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/score_chunk_{chunk}.h5",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/score_{chunk}.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "score")
    resources:
        mem_mb=stage_mem_mb("batchie", "score"),
        runtime=stage_runtime("batchie", "score"),
    params:
        scorer=batchie_scorer_args,
        n_chunks=BATCHIE["n_chunks"],
        seed=BATCHIE["seed"],
    shell:
        "snakelab batchie score --data {input.screen} --thetas {input.thetas}"
        " --distance-matrix {input.distances} --output {output} {params.scorer}"
        " --n-chunks {params.n_chunks} --chunk-index {wildcards.chunk}"
        " --batch-selected {input.selected} --seed {params.seed} --rep {wildcards.rep}"
        " --iter {wildcards.iter} --plate {wildcards.plate} --threads {threads} --log {log}"


rule batchie_select:
    input:
        screen=batchie_step_input,
        scores=batchie_score_chunks,
        selected=batchie_batch_selected,
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/selected_plate",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/select.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "select")
    resources:
        mem_mb=stage_mem_mb("batchie", "select"),
        runtime=stage_runtime("batchie", "select"),
    params:
        policy=batchie_policy_args,
        seed=BATCHIE["seed"],
    shell:
        "snakelab batchie select --data {input.screen} --scores {input.scores} --output {output}"
        " {params.policy} --batch-selected {input.selected} --seed {params.seed} --rep {wildcards.rep}"
        " --iter {wildcards.iter} --plate {wildcards.plate} --log {log}"


rule batchie_reveal:
    input:
        screen=batchie_step_input,
        selected="results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/selected_plate",
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/advanced_screen.h5",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/reveal.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "reveal")
    resources:
        mem_mb=stage_mem_mb("batchie", "reveal"),
        runtime=stage_runtime("batchie", "reveal"),
    shell:
        "snakelab batchie reveal --screen {input.screen} --selected {input.selected} --output {output}"
        " --log {log}"


rule batchie_metadata:
    input:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/advanced_screen.h5",
    output:
        "results/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/screen_metadata.json",
    log:
        "logs/batchie/{run}/{arm}/rep_{rep}/iter_{iter}/plate_{plate}/{name}/metadata.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "metadata")
    resources:
        mem_mb=stage_mem_mb("batchie", "metadata"),
        runtime=stage_runtime("batchie", "metadata"),
    shell:
        "snakelab batchie metadata --screen {input} --output {output} --log {log}"


rule batchie_summary:
    input:
        batchie_summary_inputs,
    output:
        trajectory=report(
            "results/batchie/{run}/summary/trajectory.tsv",
            caption="../report/batchie_trajectory.rst",
            category="batchie",
        ),
        selections="results/batchie/{run}/summary/selections.json",
        table=report(
            "results/batchie/{run}/summary/mse_summary.tsv",
            caption="../report/batchie_mse_summary.rst",
            category="batchie",
        ),
        png=report(
            "results/batchie/{run}/summary/mse_trajectory.png",
            caption="../report/batchie_mse_trajectory.rst",
            category="batchie",
        ),
        pdf="results/batchie/{run}/summary/mse_trajectory.pdf",
    log:
        "logs/batchie/{run}/summary.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "summary")
    resources:
        mem_mb=stage_mem_mb("batchie", "summary"),
        runtime=stage_runtime("batchie", "summary"),
    params:
        runs=batchie_summary_runs,
        outdir=lambda wildcards, output: os.path.dirname(output.trajectory),
        store=store_args(),
        seed=BATCHIE["seed"],
    shell:
        "snakelab batchie summarize --runs {params.runs} --output-dir {params.outdir}"
        " --seed {params.seed} {params.store} --log {log}"


checkpoint batchie_ingest:
    input:
        unpack(batchie_ingest_inputs),
    output:
        "results/batchie/{run}/prospective/iter_{iter}/input.screen.h5",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/ingest.log",
    wildcard_constraints:
        iter=r"[1-9]\d*",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "ingest")
    resources:
        mem_mb=stage_mem_mb("batchie", "ingest"),
        runtime=stage_runtime("batchie", "ingest"),
    shell:
        "snakelab batchie ingest --screen {input.screen} --observations {input.observations:q}"
        " --output {output} --log {log}"


rule batchie_prospective_train:
    input:
        screen=batchie_round_screen,
    output:
        "results/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/thetas_{chain}.h5",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/train_{chain}.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "train")
    resources:
        mem_mb=stage_mem_mb("batchie", "train"),
        runtime=stage_runtime("batchie", "train"),
    params:
        args=batchie_model_args(),
    shell:
        "snakelab batchie train --data {input.screen} --output {output} --chain-index {wildcards.chain}"
        " --rep 0 --iter {wildcards.iter} {params.args}"
        " --threads {threads} --progress --log {log}"


rule batchie_prospective_evaluate:
    input:
        screen=batchie_round_screen,
        thetas=batchie_thetas,
    output:
        "results/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/model_evaluation.h5",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/evaluate.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "evaluate")
    resources:
        mem_mb=stage_mem_mb("batchie", "evaluate"),
        runtime=stage_runtime("batchie", "evaluate"),
    shell:
        "snakelab batchie evaluate --screen {input.screen} --thetas {input.thetas} --output {output}"
        " --observed-only --threads {threads} --log {log}"


rule batchie_prospective_analyze:
    input:
        evaluation="results/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/model_evaluation.h5",
        screen=batchie_round_screen,
        thetas=batchie_thetas,
    output:
        directory(
            "results/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/model_evaluation_analysis"
        ),
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/analyze.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "analyze")
    resources:
        mem_mb=stage_mem_mb("batchie", "analyze"),
        runtime=stage_runtime("batchie", "analyze"),
    shell:
        "snakelab batchie analyze --model-evaluation {input.evaluation} --screen {input.screen}"
        " --thetas {input.thetas} --output-dir {output} --threads {threads} --log {log}"


rule batchie_prospective_distance:
    input:
        screen=batchie_round_screen,
        thetas=batchie_thetas,
    output:
        "results/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/distance_matrix_chunk_{chunk}.h5",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_0/{name}/distance_{chunk}.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "distance")
    resources:
        mem_mb=stage_mem_mb("batchie", "distance"),
        runtime=stage_runtime("batchie", "distance"),
    params:
        metric=batchie_class_args("distance-metric", BATCHIE["distance"]),
        n_chunks=BATCHIE["n_chunks"],
    shell:
        "snakelab batchie distance --data {input.screen} --thetas {input.thetas} --output {output}"
        " {params.metric} --n-chunks {params.n_chunks} --chunk-index {wildcards.chunk}"
        " --threads {threads} --log {log}"


rule batchie_prospective_score:
    input:
        screen=batchie_round_screen,
        thetas=batchie_thetas,
        distances=batchie_distance_chunks,
        selected=batchie_batch_selected,
    output:
        "results/batchie/{run}/prospective/iter_{iter}/plate_{plate}/{name}/score_chunk_{chunk}.h5",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_{plate}/{name}/score_{chunk}.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "score")
    resources:
        mem_mb=stage_mem_mb("batchie", "score"),
        runtime=stage_runtime("batchie", "score"),
    params:
        scorer=batchie_scorer_args,
        n_chunks=BATCHIE["n_chunks"],
        seed=BATCHIE["seed"],
    shell:
        "snakelab batchie score --data {input.screen} --thetas {input.thetas}"
        " --distance-matrix {input.distances} --output {output} {params.scorer}"
        " --n-chunks {params.n_chunks} --chunk-index {wildcards.chunk}"
        " --batch-selected {input.selected} --seed {params.seed} --rep 0"
        " --iter {wildcards.iter} --plate {wildcards.plate} --threads {threads} --log {log}"


rule batchie_prospective_select:
    input:
        screen=batchie_round_screen,
        scores=batchie_score_chunks,
        selected=batchie_batch_selected,
    output:
        "results/batchie/{run}/prospective/iter_{iter}/plate_{plate}/{name}/selected_plate",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_{plate}/{name}/select.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "select")
    resources:
        mem_mb=stage_mem_mb("batchie", "select"),
        runtime=stage_runtime("batchie", "select"),
    params:
        policy=batchie_policy_args,
        seed=BATCHIE["seed"],
    shell:
        "snakelab batchie select --data {input.screen} --scores {input.scores} --output {output}"
        " {params.policy} --batch-selected {input.selected} --seed {params.seed} --rep 0"
        " --iter {wildcards.iter} --plate {wildcards.plate} --log {log}"


rule batchie_prospective_metadata:
    input:
        batchie_round_screen,
    output:
        "results/batchie/{run}/prospective/iter_{iter}/plate_{plate}/{name}/screen_metadata.json",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/plate_{plate}/{name}/metadata.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "metadata")
    resources:
        mem_mb=stage_mem_mb("batchie", "metadata"),
        runtime=stage_runtime("batchie", "metadata"),
    shell:
        "snakelab batchie metadata --screen {input} --output {output} --log {log}"


rule batchie_export_batch:
    input:
        unpack(batchie_export_inputs),
    output:
        batch=report(
            "results/batchie/{run}/prospective/iter_{iter}/next_batch.tsv",
            caption="../report/batchie_next_batch.rst",
            category="batchie",
        ),
        experiments="results/batchie/{run}/prospective/iter_{iter}/next_batch_experiments.tsv",
    log:
        "logs/batchie/{run}/prospective/iter_{iter}/export_batch.log",
    conda:
        "../../envs/batchie.yaml"
    threads: stage_threads("batchie", "export_batch")
    resources:
        mem_mb=stage_mem_mb("batchie", "export_batch"),
        runtime=stage_runtime("batchie", "export_batch"),
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.batch),
    shell:
        "snakelab batchie export-batch --screen {input.screen} --selected {input.selected}"
        " --scores {input.scores} --output-dir {params.outdir} --log {log}"


rule batchie_all:
    input:
        batchie_targets,
    localrule: True


register_targets("batchie", batchie_targets)
