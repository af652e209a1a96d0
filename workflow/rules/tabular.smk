"""tabular: AIQC's experiment workflow on the snakelab metastore (spec §7, §11).

R = tabular.results. register → R/datasets/{dataset}.json; split → R/pipelines/{pipeline}/splits.json;
prepare → R/pipelines/{pipeline}/cache/{fold}/manifest.json; plan → R/experiments/{experiment}/plan.json;
train (one task = trainer.runs_per_task runs) → R/experiments/{experiment}/tasks/task_{task}.json and
R/experiments/{experiment}/runs/<key>/; aggregate → metrics.parquet, aggregate*.csv, importance.csv,
best.json; report → plots/. Every stage also records its rows in the store (store.url, else
SNAKELAB_STORE_URL, else sqlite:///results/snakelab.sqlite).
"""


include: "tabular_common.smk"


wildcard_constraints:
    dataset="[^/]+",
    pipeline="[^/]+",
    experiment="[^/]+",
    fold=r"fold_\d+|no_fold",
    task=r"\d{3}",


rule tabular_register:
    input:
        tabular_dataset_source,
    output:
        f"{TABULAR_R}/datasets/{{dataset}}.json",
    log:
        "logs/tabular/register/{dataset}.log",
    benchmark:
        "benchmarks/tabular/register/{dataset}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: stage_threads("tabular", "register")
    resources:
        mem_mb=stage_mem_mb("tabular", "register"),
        runtime=stage_runtime("tabular", "register"),
    params:
        spec=lambda wildcards: tabular_section_spec("datasets", wildcards.dataset),
        store=tabular_store_args(),
    shell:
        "snakelab tabular register --dataset {wildcards.dataset} --spec {params.spec} {params.store}"
        " --output {output} --log {log}"


rule tabular_split:
    input:
        dataset=tabular_dataset_json,
    output:
        f"{TABULAR_R}/pipelines/{{pipeline}}/splits.json",
    log:
        "logs/tabular/split/{pipeline}.log",
    benchmark:
        "benchmarks/tabular/split/{pipeline}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: stage_threads("tabular", "split")
    resources:
        mem_mb=stage_mem_mb("tabular", "split"),
        runtime=stage_runtime("tabular", "split"),
    params:
        spec=lambda wildcards: tabular_section_spec("pipelines", wildcards.pipeline),
        encoders=tabular_json_arg(TABULAR["allowed_encoders"]),
        seed=TABULAR["seed"],
        store=tabular_store_args(),
    shell:
        "snakelab tabular split --pipeline {wildcards.pipeline} --spec {params.spec}"
        " --dataset-json {input.dataset} --allowed-encoders {params.encoders} --seed {params.seed}"
        " {params.store} --output {output} --log {log}"


rule tabular_prepare:
    input:
        splits=f"{TABULAR_R}/pipelines/{{pipeline}}/splits.json",
    output:
        f"{TABULAR_R}/pipelines/{{pipeline}}/cache/{{fold}}/manifest.json",
    log:
        "logs/tabular/prepare/{pipeline}/{fold}.log",
    benchmark:
        "benchmarks/tabular/prepare/{pipeline}/{fold}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: stage_threads("tabular", "prepare")
    resources:
        mem_mb=stage_mem_mb("tabular", "prepare"),
        runtime=stage_runtime("tabular", "prepare"),
    params:
        store=tabular_store_args(),
    shell:
        "snakelab tabular prepare --splits {input.splits} --fold {wildcards.fold} {params.store}"
        " --output {output} --log {log}"


rule tabular_plan:
    input:
        dataset=tabular_dataset_json,
        splits=tabular_splits_json,
        modules=tabular_module_files,
    output:
        f"{TABULAR_R}/experiments/{{experiment}}/plan.json",
    log:
        "logs/tabular/plan/{experiment}.log",
    benchmark:
        "benchmarks/tabular/plan/{experiment}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: stage_threads("tabular", "plan")
    resources:
        mem_mb=stage_mem_mb("tabular", "plan"),
        runtime=stage_runtime("tabular", "plan"),
    params:
        spec=tabular_plan_args,
        seed=TABULAR["seed"],
        store=tabular_store_args(),
    shell:
        "snakelab tabular plan --experiment {wildcards.experiment} {params.spec}"
        " --dataset-json {input.dataset} --splits {input.splits} --seed {params.seed} {params.store}"
        " --output {output} --log {log}"


rule tabular_train:
    input:
        plan=f"{TABULAR_R}/experiments/{{experiment}}/plan.json",
        manifests=tabular_manifests,
    output:
        f"{TABULAR_R}/experiments/{{experiment}}/tasks/task_{{task}}.json",
    log:
        "logs/tabular/train/{experiment}/task_{task}.log",
    benchmark:
        "benchmarks/tabular/train/{experiment}/task_{task}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: tabular_train_threads
    resources:
        mem_mb=tabular_train_mem_mb,
        runtime=tabular_train_runtime,
    params:
        store=tabular_store_args(),
    shell:
        "snakelab tabular train --plan {input.plan} --task {wildcards.task} {params.store}"
        " --threads {threads} --output {output} --log {log}"


rule tabular_aggregate:
    input:
        plan=f"{TABULAR_R}/experiments/{{experiment}}/plan.json",
        tasks=tabular_task_files,
    output:
        metrics=f"{TABULAR_R}/experiments/{{experiment}}/metrics.parquet",
        aggregate=report(
            f"{TABULAR_R}/experiments/{{experiment}}/aggregate.csv",
            caption="../report/tabular_aggregate.rst",
            category="tabular",
        ),
        test=f"{TABULAR_R}/experiments/{{experiment}}/aggregate_test.csv",
        importance=f"{TABULAR_R}/experiments/{{experiment}}/importance.csv",
        best=f"{TABULAR_R}/experiments/{{experiment}}/best.json",
    log:
        "logs/tabular/aggregate/{experiment}.log",
    benchmark:
        "benchmarks/tabular/aggregate/{experiment}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: stage_threads("tabular", "aggregate")
    resources:
        mem_mb=stage_mem_mb("tabular", "aggregate"),
        runtime=stage_runtime("tabular", "aggregate"),
    params:
        outdir=lambda wildcards, output: os.path.dirname(output.best),
        store=tabular_store_args(),
    shell:
        "snakelab tabular aggregate --plan {input.plan} --tasks {input.tasks} {params.store}"
        " --output-dir {params.outdir} --log {log}"


rule tabular_report:
    input:
        plan=f"{TABULAR_R}/experiments/{{experiment}}/plan.json",
        best=f"{TABULAR_R}/experiments/{{experiment}}/best.json",
        metrics=f"{TABULAR_R}/experiments/{{experiment}}/metrics.parquet",
        importance=f"{TABULAR_R}/experiments/{{experiment}}/importance.csv",
    output:
        report(
            directory(f"{TABULAR_R}/experiments/{{experiment}}/plots"),
            patterns=["{name}.png", "{name}.pdf"],
            caption="../report/tabular_plots.rst",
            category="tabular",
            subcategory="{experiment}",
        ),
    log:
        "logs/tabular/report/{experiment}.log",
    benchmark:
        "benchmarks/tabular/report/{experiment}.tsv"
    conda:
        "../../envs/tabular.yaml"
    threads: stage_threads("tabular", "report")
    resources:
        mem_mb=stage_mem_mb("tabular", "report"),
        runtime=stage_runtime("tabular", "report"),
    params:
        aggdir=lambda wildcards, input: os.path.dirname(input.best),
    shell:
        "snakelab tabular report --plan {input.plan} --aggregate-dir {params.aggdir}"
        " --output-dir {output} --log {log}"


rule tabular_all:
    input:
        tabular_targets,
    localrule: True
