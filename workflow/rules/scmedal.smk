"""scmedal: scMEDAL mixed-effects autoencoders for single-cell batch effects (spec §12).

Root R = {outdir}/{dataset}_outputs (spec §7). DAG: demo_data → preprocess → splits → {train (model ×
fold), pca (fold)} → scores (model, pca or external latent × fold) → aggregate → compare;
train(scmedalre) → counterfactuals → genomap (map) → genomap_stats; train → mec (features × target ×
fold) → mec_aggregate; train/pca → umap (model × split × fold). Paths: snakelab.scmedal.paths.
"""


include: "scmedal_common.smk"


wildcard_constraints:
    dataset="[^/]+",
    scenario="[^/]+",
    run="run_crossval_[0-9a-f]{12}",
    fold=r"\d+",
    split="train|val|test",
    subset_id="[0-9a-f]{8}",
    analysis="[^/]+",
    map=r"\d+",


rule scmedal_all:
    input:
        scmedal_targets,
    localrule: True


rule scmedal_demo_data:
    output:
        "resources/scmedal/pbmc68k_pseudobatch.h5ad",
    log:
        "logs/scmedal/demo_data.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "demo_data")
    resources:
        mem_mb=stage_mem_mb("scmedal", "demo_data"),
        runtime=stage_runtime("scmedal", "demo_data"),
    shell:
        "snakelab scmedal demo-data --seed 0 --output {output} --log {log}"


rule scmedal_preprocess:
    input:
        scmedal_input_file,
    output:
        adata=os.path.join(SCMEDAL_DATA, "adata.h5ad"),
        report=os.path.join(SCMEDAL_DATA, "preprocess.json"),
    log:
        "logs/scmedal/{dataset}/{scenario}/preprocess.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "preprocess")
    resources:
        mem_mb=scmedal_mem_mb("preprocess", 6),
        runtime=stage_runtime("scmedal", "preprocess"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal preprocess --spec {params.spec} --dataset {wildcards.dataset} --log {log}"


rule scmedal_splits:
    input:
        os.path.join(SCMEDAL_DATA, "adata.h5ad"),
    output:
        os.path.join(SCMEDAL_DATA, "splits.json"),
    log:
        "logs/scmedal/{dataset}/{scenario}/splits.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "splits")
    resources:
        mem_mb=stage_mem_mb("scmedal", "splits"),
        runtime=stage_runtime("scmedal", "splits"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal splits --spec {params.spec} --dataset {wildcards.dataset} --log {log}"


rule scmedal_train:
    input:
        unpack(scmedal_data),
    output:
        latents=scmedal_each_split(
            os.path.join(SCMEDAL_LATENT, "splits_{fold}", "{model}_latent_<s>.npy")
        ),
        recon=scmedal_each_split(
            os.path.join(SCMEDAL_LATENT, "splits_{fold}", "recon_<s>.npy"),
            SCMEDAL["training"]["save_recon"],
        ),
        history=os.path.join(SCMEDAL_LATENT, "splits_{fold}", "history.csv"),
        scaler=os.path.join(SCMEDAL_LATENT, "splits_{fold}", "scaler.json"),
        training=os.path.join(SCMEDAL_SAVED, "splits_{fold}", "training.json"),
    log:
        "logs/scmedal/{dataset}/{scenario}/{model}/{run}/train_{fold}.log",
    wildcard_constraints:
        model=SCMEDAL_MODELS,
    conda:
        "../../envs/scmedal.yaml"
    threads: SCMEDAL["training"]["threads"]
    resources:
        mem_mb=scmedal_mem_mb("train", 8),
        runtime=stage_runtime("scmedal", "train"),
        gpu=SCMEDAL_GPU,
    params:
        spec=scmedal_spec(),
        store=store_args(),
    shell:
        "snakelab scmedal train --spec {params.spec} --dataset {wildcards.dataset}"
        " --model {wildcards.model} --fold {wildcards.fold} --threads {threads} {params.store}"
        " --log {log}"


rule scmedal_pca:
    input:
        unpack(scmedal_data),
    output:
        scmedal_each_split(
            os.path.join(SCMEDAL_LATENT, "splits_{fold}", "X_pca_<s>.npy")
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{model}/{run}/pca_{fold}.log",
    wildcard_constraints:
        model="pca",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "pca")
    resources:
        mem_mb=scmedal_mem_mb("pca", 6),
        runtime=stage_runtime("scmedal", "pca"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal pca --spec {params.spec} --dataset {wildcards.dataset}"
        " --fold {wildcards.fold} --threads {threads} --log {log}"


rule scmedal_scores:
    input:
        unpack(scmedal_scores_input),
    output:
        scores=scmedal_each_split(
            os.path.join(
                SCMEDAL_LATENT,
                "splits_{fold}",
                f"scores_<s>_samplesize-{SCMEDAL_N}.csv",
            ),
            SCMEDAL["scores"]["splits"],
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{model}/{run}/scores_{fold}.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "scores")
    resources:
        mem_mb=stage_mem_mb("scmedal", "scores"),
        runtime=stage_runtime("scmedal", "scores"),
    params:
        spec=scmedal_spec(),
        store=store_args(),
    shell:
        "snakelab scmedal scores --spec {params.spec} --dataset {wildcards.dataset}"
        " --model {wildcards.model} --fold {wildcards.fold} --threads {threads} {params.store}"
        " --log {log}"


rule scmedal_aggregate:
    input:
        scores=scmedal_fold_scores,
        histories=scmedal_fold_histories,
    output:
        all_scores=scmedal_each_split(
            os.path.join(SCMEDAL_LATENT, f"all_scores_<s>_samplesize-{SCMEDAL_N}.csv"),
            SCMEDAL["scores"]["splits"],
        ),
        mean_scores=scmedal_each_split(
            os.path.join(
                SCMEDAL_LATENT, f"mean_scores_<s>_samplesize-{SCMEDAL_N}.csv"
            ),
            SCMEDAL["scores"]["splits"],
        ),
        history=os.path.join(SCMEDAL_LATENT, "history_allfolds.csv"),
        mean_history=os.path.join(SCMEDAL_LATENT, "mean_history_allfolds.csv"),
        avg_loss=report(
            os.path.join(SCMEDAL_FIGURES, "avg_loss.png"),
            caption="../report/scmedal_loss.rst",
            category="scmedal",
            subcategory="loss curves",
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{model}/{run}/aggregate.log",
    wildcard_constraints:
        model=SCMEDAL_MODELS,
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "aggregate")
    resources:
        mem_mb=stage_mem_mb("scmedal", "aggregate"),
        runtime=stage_runtime("scmedal", "aggregate"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal aggregate --spec {params.spec} --dataset {wildcards.dataset}"
        " --model {wildcards.model} --log {log}"


rule scmedal_aggregate_scores:
    input:
        scmedal_fold_scores,
    output:
        all_scores=scmedal_each_split(
            os.path.join(SCMEDAL_LATENT, f"all_scores_<s>_samplesize-{SCMEDAL_N}.csv"),
            SCMEDAL["scores"]["splits"],
        ),
        mean_scores=scmedal_each_split(
            os.path.join(
                SCMEDAL_LATENT, f"mean_scores_<s>_samplesize-{SCMEDAL_N}.csv"
            ),
            SCMEDAL["scores"]["splits"],
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{model}/{run}/aggregate.log",
    wildcard_constraints:
        model=SCMEDAL_SCORED_ONLY,
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "aggregate")
    resources:
        mem_mb=stage_mem_mb("scmedal", "aggregate"),
        runtime=stage_runtime("scmedal", "aggregate"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal aggregate --spec {params.spec} --dataset {wildcards.dataset}"
        " --model {wildcards.model} --log {log}"


rule scmedal_compare_scores:
    input:
        scmedal_compare_input,
    output:
        allscores=os.path.join(SCMEDAL_COMPARE, "{split}_allscores.csv"),
        means=os.path.join(SCMEDAL_COMPARE, f"{{split}}_scores_{SCMEDAL_N}.csv"),
        ci=os.path.join(SCMEDAL_COMPARE, f"{{split}}_scores_{SCMEDAL_N}_95CI.csv"),
        png=report(
            os.path.join(SCMEDAL_COMPARE, f"{{split}}_scores_{SCMEDAL_N}.png"),
            caption="../report/scmedal_compare.rst",
            category="scmedal",
            subcategory="compare models",
        ),
        low=os.path.join(
            SCMEDAL_COMPARE, f"{{split}}_scores_{SCMEDAL_N}_min_silhouette_batch.csv"
        ),
        high=os.path.join(
            SCMEDAL_COMPARE, f"{{split}}_scores_{SCMEDAL_N}_max_silhouette_batch.csv"
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{analysis}/compare_{split}.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "compare")
    resources:
        mem_mb=stage_mem_mb("scmedal", "compare"),
        runtime=stage_runtime("scmedal", "compare"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal compare --spec {params.spec} --dataset {wildcards.dataset} --log {log}"


rule scmedal_counterfactuals:
    input:
        unpack(scmedal_cf_input),
    output:
        os.path.join(
            SCMEDAL_LATENT,
            "splits_{fold}",
            "counterfactuals",
            "cf_{split}_{subset_id}.npz",
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{model}/{run}/cf_{fold}_{split}_{subset_id}.log",
    wildcard_constraints:
        model="scmedalre",
    conda:
        "../../envs/scmedal.yaml"
    threads: SCMEDAL["training"]["threads"]
    resources:
        mem_mb=scmedal_mem_mb("counterfactuals", 8),
        runtime=stage_runtime("scmedal", "counterfactuals"),
        gpu=SCMEDAL_GPU,
    params:
        spec=scmedal_spec(),
        request=scmedal_cf_args,
    shell:
        "snakelab scmedal counterfactuals --spec {params.spec} --dataset {wildcards.dataset}"
        " --fold {wildcards.fold} {params.request} --threads {threads} --log {log}"


rule scmedal_umap:
    input:
        unpack(scmedal_umap_input),
    output:
        done=os.path.join(
            SCMEDAL_COMPARE, "umap_runs", "umap_{model}_{split}_split{fold}.json"
        ),
        png=report(
            os.path.join(
                SCMEDAL_COMPARE, "umap_runs", "umap_{model}_{split}_split{fold}.png"
            ),
            caption="../report/scmedal_umap.rst",
            category="scmedal",
            subcategory="UMAP",
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{analysis}/umap_{model}_{split}_{fold}.log",
    wildcard_constraints:
        model=SCMEDAL_UMAP_LATENTS,
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "umap")
    resources:
        mem_mb=stage_mem_mb("scmedal", "umap"),
        runtime=stage_runtime("scmedal", "umap"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal umap --spec {params.spec} --dataset {wildcards.dataset}"
        " --model {wildcards.model} --split {wildcards.split} --fold {wildcards.fold}"
        " --threads {threads} --log {log}"


rule scmedal_genomap:
    input:
        unpack(scmedal_genomap_input),
    output:
        done=os.path.join(SCMEDAL_COMPARE, "genomap_runs", "map_{map}.json"),
        png=report(
            os.path.join(SCMEDAL_COMPARE, "genomap_runs", "map_{map}.png"),
            caption="../report/scmedal_genomap.rst",
            category="scmedal",
            subcategory="genomaps",
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/{analysis}/genomap_{map}.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "genomap")
    resources:
        mem_mb=stage_mem_mb("scmedal", "genomap"),
        runtime=stage_runtime("scmedal", "genomap"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal genomap --spec {params.spec} --dataset {wildcards.dataset}"
        " --map {wildcards.map} --threads {threads} --log {log}"


rule scmedal_genomap_stats:
    input:
        scmedal_genomap_sentinels,
    output:
        os.path.join(SCMEDAL_COMPARE, "{dataset}_pvals_{test}.csv"),
    log:
        "logs/scmedal/{dataset}/{scenario}/{analysis}/genomap_stats_{test}.log",
    wildcard_constraints:
        test="mwu|me",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "genomap_stats")
    resources:
        mem_mb=stage_mem_mb("scmedal", "genomap_stats"),
        runtime=stage_runtime("scmedal", "genomap_stats"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal genomap-stats --spec {params.spec} --dataset {wildcards.dataset} --log {log}"


rule scmedal_mec:
    input:
        unpack(scmedal_mec_latents),
    output:
        metrics=os.path.join(SCMEDAL_MEC, "{mec_run}", "splits_{fold}", "metrics.csv"),
        rf=scmedal_each_split(
            os.path.join(
                SCMEDAL_MEC, "{mec_run}", "splits_{fold}", "y_pred_<s>_rf.csv"
            )
        ),
        dummy=scmedal_each_split(
            os.path.join(
                SCMEDAL_MEC, "{mec_run}", "splits_{fold}", "y_pred_<s>_dummy.csv"
            )
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/mec/{mec_run}/fold_{fold}.log",
    wildcard_constraints:
        mec_run="run_mec_[^/]+",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "mec")
    resources:
        mem_mb=stage_mem_mb("scmedal", "mec"),
        runtime=stage_runtime("scmedal", "mec"),
    params:
        spec=scmedal_spec(),
        run=scmedal_mec_run_args,
        store=store_args(),
    shell:
        "snakelab scmedal mec --spec {params.spec} --dataset {wildcards.dataset} {params.run}"
        " --fold {wildcards.fold} --threads {threads} {params.store} --log {log}"


rule scmedal_mec_aggregate:
    input:
        scmedal_mec_fold_metrics,
    output:
        report(
            os.path.join(SCMEDAL_MEC, "MEC_RF_summary.csv"),
            caption="../report/scmedal_mec.rst",
            category="scmedal",
            subcategory="MEC",
        ),
    log:
        "logs/scmedal/{dataset}/{scenario}/mec/aggregate.log",
    conda:
        "../../envs/scmedal.yaml"
    threads: stage_threads("scmedal", "mec_aggregate")
    resources:
        mem_mb=stage_mem_mb("scmedal", "mec_aggregate"),
        runtime=stage_runtime("scmedal", "mec_aggregate"),
    params:
        spec=scmedal_spec(),
    shell:
        "snakelab scmedal mec-aggregate --spec {params.spec} --dataset {wildcards.dataset} --log {log}"
