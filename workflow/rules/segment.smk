"""segment: DaCapo-style volumetric segmentation (spec §13). Outputs under results/segment/:

data/{dataset}.zarr → runs/{run}/run.yaml → runs/{run}/train.done.json (+ checkpoints, stats, scores)
→ runs/{run}/best/{criterion}.json → predict/{run}/{volume}/blocks.json (checkpoint) →
blocks/{k:05d}.npz → prediction.zarr → segmentation.zarr → scores.json; plots/{run}/*.png,
plots/summary.png. validation.mode jobs adds runs/{run}/validation/{N}/{dataset}.json and a
gather-scores job per run.
"""


include: "segment_common.smk"


wildcard_constraints:
    run="[^/]+",
    volume="[^/]+",
    k=r"\d{5}",
    N=r"\d+",


rule segment_make_data:
    output:
        directory("results/segment/data/{dataset}.zarr"),
    log:
        "logs/segment/make_data/{dataset}.log",
    wildcard_constraints:
        dataset=segment_names_pattern(SEGMENT_SYNTHETIC),
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "make_data")
    resources:
        mem_mb=stage_mem_mb("segment", "make_data"),
        runtime=stage_runtime("segment", "make_data"),
    params:
        spec=segment_data_spec,
    shell:
        "snakelab segment make-data --spec-json {params.spec} --output {output} --log {log}"


rule segment_convert:
    input:
        segment_convert_inputs,
    output:
        directory("results/segment/data/{dataset}.zarr"),
    log:
        "logs/segment/convert/{dataset}.log",
    wildcard_constraints:
        dataset=segment_names_pattern(SEGMENT_CONVERTED),
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "convert")
    resources:
        mem_mb=stage_mem_mb("segment", "convert"),
        runtime=stage_runtime("segment", "convert"),
    params:
        args=segment_convert_args,
    shell:
        "snakelab segment convert {params.args} --output {output} --log {log}"


rule segment_configs:
    output:
        "results/segment/runs/{run}/run.yaml",
    log:
        "logs/segment/configs/{run}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "configs")
    resources:
        mem_mb=stage_mem_mb("segment", "configs"),
        runtime=stage_runtime("segment", "configs"),
    params:
        run=segment_run_json,
        root=lambda wildcards, output: os.path.dirname(
            os.path.dirname(os.path.dirname(output[0]))
        ),
    shell:
        "snakelab segment configs --run-json {params.run} --root {params.root} --log {log}"


rule segment_train:
    input:
        run="results/segment/runs/{run}/run.yaml",
        data=segment_run_datasets,
    output:
        "results/segment/runs/{run}/train.done.json",
    log:
        "logs/segment/train/{run}.log",
    conda:
        "../../envs/segment.yaml"
    threads: segment_threads("train")
    resources:
        mem_mb=stage_mem_mb("segment", "train"),
        runtime=stage_runtime("segment", "train"),
        gpu=segment_gpus(),
    params:
        rundir=lambda wildcards, input: os.path.dirname(input.run),
        mode=SEGMENT_VALIDATION.get("mode", "in_job"),
        arrays="--store-arrays" if SEGMENT_VALIDATION.get("store_arrays") else "",
        batch=SEGMENT_VALIDATION.get("batch", 1),
        store=store_args(),
    shell:
        "snakelab segment train --run-dir {params.rundir} --validation-mode {params.mode} {params.arrays}"
        " --batch {params.batch} {params.store} --threads {threads} --progress --log {log}"


rule segment_validate:
    input:
        "results/segment/runs/{run}/train.done.json",
    output:
        "results/segment/runs/{run}/validation/{N}/{dataset}.json",
    log:
        "logs/segment/validate/{run}/{N}_{dataset}.log",
    conda:
        "../../envs/segment.yaml"
    threads: segment_threads("validate")
    resources:
        mem_mb=stage_mem_mb("segment", "validate"),
        runtime=stage_runtime("segment", "validate"),
        gpu=segment_gpus(),
    params:
        rundir=lambda wildcards, input: os.path.dirname(input[0]),
    shell:
        "snakelab segment validate --run-dir {params.rundir} --iteration {wildcards.N}"
        " --dataset {wildcards.dataset} --output {output} --threads {threads} --log {log}"


rule segment_gather_scores:
    input:
        segment_validation_files,
    output:
        "results/segment/runs/{run}/validation_scores.json",
    log:
        "logs/segment/gather_scores/{run}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "gather_scores")
    resources:
        mem_mb=stage_mem_mb("segment", "gather_scores"),
        runtime=stage_runtime("segment", "gather_scores"),
    params:
        rundir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "snakelab segment gather-scores --run-dir {params.rundir} --inputs {input}"
        " --output {output} --log {log}"


rule segment_select_best:
    input:
        segment_scores_input,
    output:
        "results/segment/runs/{run}/best/{criterion}.json",
    log:
        "logs/segment/select_best/{run}_{criterion}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "select_best")
    resources:
        mem_mb=stage_mem_mb("segment", "select_best"),
        runtime=stage_runtime("segment", "select_best"),
    params:
        rundir=lambda wildcards: f"{SEGMENT_R}/runs/{wildcards.run}",
    shell:
        "snakelab segment select-best --run-dir {params.rundir} --criterion {wildcards.criterion}"
        " --output {output} --log {log}"


checkpoint segment_plan_blocks:
    input:
        run="results/segment/runs/{run}/run.yaml",
        data=lambda wildcards: segment_dataset_dir(wildcards.volume),
    output:
        "results/segment/predict/{run}/{volume}/blocks.json",
    log:
        "logs/segment/plan_blocks/{run}/{volume}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "plan_blocks")
    resources:
        mem_mb=stage_mem_mb("segment", "plan_blocks"),
        runtime=stage_runtime("segment", "plan_blocks"),
    params:
        rundir=lambda wildcards, input: os.path.dirname(input.run),
        block=" ".join(str(b) for b in SEGMENT_PREDICT.get("block_shape") or []),
        roi=segment_roi_args(),
    shell:
        "snakelab segment plan-blocks --run-dir {params.rundir} --raw {input.data}/raw"
        " --block-shape {params.block} {params.roi} --output {output} --log {log}"


rule segment_predict_block:
    input:
        blocks="results/segment/predict/{run}/{volume}/blocks.json",
        best=segment_best,
    output:
        "results/segment/predict/{run}/{volume}/blocks/{k}.npz",
    log:
        "logs/segment/predict_block/{run}/{volume}/{k}.log",
    conda:
        "../../envs/segment.yaml"
    threads: segment_threads("predict_block")
    resources:
        mem_mb=stage_mem_mb("segment", "predict_block"),
        runtime=stage_runtime("segment", "predict_block"),
        gpu=segment_gpus(),
    params:
        rundir=lambda wildcards: f"{SEGMENT_R}/runs/{wildcards.run}",
        batch=SEGMENT_PREDICT.get("batch", 1),
    shell:
        "snakelab segment predict-block --run-dir {params.rundir} --blocks {input.blocks}"
        " --index {wildcards.k} --best {input.best} --batch {params.batch} --output {output}"
        " --threads {threads} --log {log}"


rule segment_stitch:
    input:
        blocks="results/segment/predict/{run}/{volume}/blocks.json",
        files=segment_block_files,
        best=segment_best,
    output:
        directory("results/segment/predict/{run}/{volume}/prediction.zarr"),
    log:
        "logs/segment/stitch/{run}/{volume}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "stitch")
    resources:
        mem_mb=stage_mem_mb("segment", "stitch"),
        runtime=stage_runtime("segment", "stitch"),
    params:
        rundir=lambda wildcards: f"{SEGMENT_R}/runs/{wildcards.run}",
        dtype=SEGMENT_PREDICT.get("dtype", "float32"),
    shell:
        "snakelab segment stitch --run-dir {params.rundir} --blocks {input.blocks}"
        " --block-files {input.files} --best {input.best} --dtype {params.dtype}"
        " --output {output} --log {log}"


rule segment_postprocess:
    input:
        prediction="results/segment/predict/{run}/{volume}/prediction.zarr",
        best=segment_best,
    output:
        directory("results/segment/predict/{run}/{volume}/segmentation.zarr"),
    log:
        "logs/segment/postprocess/{run}/{volume}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "postprocess")
    resources:
        mem_mb=stage_mem_mb("segment", "postprocess"),
        runtime=stage_runtime("segment", "postprocess"),
    params:
        rundir=lambda wildcards: f"{SEGMENT_R}/runs/{wildcards.run}",
    shell:
        "snakelab segment postprocess --run-dir {params.rundir} --prediction {input.prediction}"
        " --best {input.best} --output {output} --log {log}"


rule segment_evaluate:
    input:
        segmentation="results/segment/predict/{run}/{volume}/segmentation.zarr",
        data=lambda wildcards: segment_dataset_dir(wildcards.volume),
    output:
        report(
            "results/segment/predict/{run}/{volume}/scores.json",
            caption="../report/segment_scores.rst",
            category="segment",
            subcategory="{run}",
        ),
    log:
        "logs/segment/evaluate/{run}/{volume}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "evaluate")
    resources:
        mem_mb=stage_mem_mb("segment", "evaluate"),
        runtime=stage_runtime("segment", "evaluate"),
    params:
        rundir=lambda wildcards: f"{SEGMENT_R}/runs/{wildcards.run}",
    shell:
        "snakelab segment evaluate --run-dir {params.rundir} --segmentation {input.segmentation}"
        " --dataset {input.data} --output {output} --log {log}"


rule segment_plot:
    input:
        unpack(segment_plot_inputs),
    output:
        loss=report(
            "results/segment/plots/{run}/loss.png",
            caption="../report/segment_loss.rst",
            category="segment",
            subcategory="{run}",
        ),
        scores=report(
            "results/segment/plots/{run}/scores.png",
            caption="../report/segment_scores_plot.rst",
            category="segment",
            subcategory="{run}",
        ),
        slices=report(
            expand(
                "results/segment/plots/{{run}}/slices_{volume}.png",
                volume=SEGMENT_PREDICT.get("volumes") or [],
            ),
            caption="../report/segment_slices.rst",
            category="segment",
            subcategory="{run}",
        ),
    log:
        "logs/segment/plot/{run}.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "plot")
    resources:
        mem_mb=stage_mem_mb("segment", "plot"),
        runtime=stage_runtime("segment", "plot"),
    params:
        rundir=lambda wildcards: f"{SEGMENT_R}/runs/{wildcards.run}",
        volumes=segment_plot_volumes,
        outdir=lambda wildcards, output: os.path.dirname(output.loss),
    shell:
        "snakelab segment plot --run-dir {params.rundir} --best {input.best} {params.volumes}"
        " --output-dir {params.outdir} --log {log}"


rule segment_summary:
    input:
        segment_all_best,
    output:
        report(
            "results/segment/plots/summary.png",
            caption="../report/segment_summary.rst",
            category="segment",
        ),
    log:
        "logs/segment/summary.log",
    conda:
        "../../envs/segment.yaml"
    threads: stage_threads("segment", "summary")
    resources:
        mem_mb=stage_mem_mb("segment", "summary"),
        runtime=stage_runtime("segment", "summary"),
    shell:
        "snakelab segment summary --best {input} --output {output} --log {log}"


rule segment_all:
    input:
        segment_targets,
    localrule: True


register_targets("segment", segment_targets)
