"""imnn: information-maximising neural networks and likelihood-free inference (spec §12).

R = imnn.results/imnn-<hash>. config → R/config.json; simulate (fan-out over sets × chunks) →
R/sims/{set}/chunk_{c}.npz; tfrecords (storage: dataset) → R/tfrecords/{set}/; simulate-target →
R/sims/target.npz; fit → R/fit/; compress → R/compress/targets.npz; ga, abc-chunk (fan-out), abc,
pmc → R/lfi/; plot → R/plots/.
"""


include: "imnn_common.smk"


wildcard_constraints:
    set="fiducial|derivative|validation_fiducial|validation_derivative",
    chunk=r"\d{3}",


rule imnn_config:
    output:
        f"{IMNN_R}/config.json",
    log:
        f"logs/imnn/{IMNN_RUN}/config.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "default")
    resources:
        mem_mb=stage_mem_mb("imnn", "default"),
        runtime=stage_runtime("imnn", "default"),
    params:
        section=imnn_section_json(),
    shell:
        "snakelab imnn config --section-json {params.section} --source config --output {output} --log {log}"


rule imnn_simulate:
    input:
        f"{IMNN_R}/config.json",
    output:
        f"{IMNN_R}/sims/{{set}}/chunk_{{chunk}}.npz",
    log:
        f"logs/imnn/{IMNN_RUN}/simulate/{{set}}_{{chunk}}.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "simulate")
    resources:
        mem_mb=stage_mem_mb("imnn", "simulate"),
        runtime=stage_runtime("imnn", "simulate"),
    shell:
        "snakelab imnn simulate --config {input} --set {wildcards.set} --chunk {wildcards.chunk}"
        " --output {output} --threads {threads} --log {log}"


rule imnn_simulate_target:
    input:
        config=f"{IMNN_R}/config.json",
        data=imnn_target_inputs,
    output:
        f"{IMNN_R}/sims/target.npz",
    log:
        f"logs/imnn/{IMNN_RUN}/simulate_target.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "simulate")
    resources:
        mem_mb=stage_mem_mb("imnn", "simulate"),
        runtime=stage_runtime("imnn", "simulate"),
    shell:
        "snakelab imnn simulate-target --config {input.config} --output {output} --log {log}"


rule imnn_tfrecords:
    input:
        config=f"{IMNN_R}/config.json",
        sims=imnn_set_inputs,
    output:
        directory(f"{IMNN_R}/tfrecords/{{set}}"),
    log:
        f"logs/imnn/{IMNN_RUN}/tfrecords/{{set}}.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "tfrecords")
    resources:
        mem_mb=stage_mem_mb("imnn", "tfrecords"),
        runtime=stage_runtime("imnn", "tfrecords"),
    params:
        sims=imnn_sims_arg(),
    shell:
        "snakelab imnn tfrecords --config {input.config} --set {wildcards.set} {params.sims}"
        " --output-dir {output} --log {log}"


rule imnn_fit:
    input:
        imnn_fit_inputs,
    output:
        weights=f"{IMNN_R}/fit/weights.npz",
        statistics=f"{IMNN_R}/fit/statistics.npz",
        history=f"{IMNN_R}/fit/history.npz",
        csv=f"{IMNN_R}/fit/history.csv",
        metrics=report(
            f"{IMNN_R}/fit/metrics.json",
            caption="../report/imnn_metrics.rst",
            category="imnn",
        ),
    log:
        f"logs/imnn/{IMNN_RUN}/fit.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "fit")
    resources:
        mem_mb=stage_mem_mb("imnn", "fit"),
        runtime=stage_runtime("imnn", "fit"),
    params:
        data=imnn_fit_args(),
        config=lambda wildcards, input: input[0],
        out=lambda wildcards, output: os.path.dirname(output.metrics),
        store=store_args(),
    shell:
        "snakelab imnn fit --config {params.config} {params.data} --output-dir {params.out}"
        " {params.store} --threads {threads} --progress --log {log}"


rule imnn_compress:
    input:
        config=f"{IMNN_R}/config.json",
        weights=f"{IMNN_R}/fit/weights.npz",
        statistics=f"{IMNN_R}/fit/statistics.npz",
        target=f"{IMNN_R}/sims/target.npz",
    output:
        f"{IMNN_R}/compress/targets.npz",
    log:
        f"logs/imnn/{IMNN_RUN}/compress.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "compress")
    resources:
        mem_mb=stage_mem_mb("imnn", "compress"),
        runtime=stage_runtime("imnn", "compress"),
    params:
        fit=lambda wildcards, input: os.path.dirname(input.weights),
    shell:
        "snakelab imnn compress --config {input.config} --fit-dir {params.fit} --target {input.target}"
        " --output {output} --log {log}"


rule imnn_ga:
    input:
        config=f"{IMNN_R}/config.json",
        statistics=f"{IMNN_R}/fit/statistics.npz",
        targets=f"{IMNN_R}/compress/targets.npz",
    output:
        f"{IMNN_R}/lfi/ga.npz",
    log:
        f"logs/imnn/{IMNN_RUN}/ga.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "ga")
    resources:
        mem_mb=stage_mem_mb("imnn", "ga"),
        runtime=stage_runtime("imnn", "ga"),
    shell:
        "snakelab imnn ga --config {input.config} --statistics {input.statistics}"
        " --targets {input.targets} --output {output} --log {log}"


rule imnn_abc_chunk:
    input:
        config=f"{IMNN_R}/config.json",
        weights=f"{IMNN_R}/fit/weights.npz",
        statistics=f"{IMNN_R}/fit/statistics.npz",
        targets=f"{IMNN_R}/compress/targets.npz",
    output:
        f"{IMNN_R}/lfi/abc_chunk_{{chunk}}.npz",
    log:
        f"logs/imnn/{IMNN_RUN}/abc_chunk_{{chunk}}.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "abc_chunk")
    resources:
        mem_mb=stage_mem_mb("imnn", "abc_chunk"),
        runtime=stage_runtime("imnn", "abc_chunk"),
    params:
        fit=lambda wildcards, input: os.path.dirname(input.weights),
        chunk=lambda wildcards: int(wildcards.chunk),
    shell:
        "snakelab imnn abc-chunk --config {input.config} --chunk {params.chunk} --fit-dir {params.fit}"
        " --targets {input.targets} --output {output} --threads {threads} --progress --log {log}"


rule imnn_abc:
    input:
        config=f"{IMNN_R}/config.json",
        chunks=imnn_abc_chunks,
    output:
        npz=f"{IMNN_R}/lfi/abc.npz",
        summary=f"{IMNN_R}/lfi/abc.json",
    log:
        f"logs/imnn/{IMNN_RUN}/abc.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "abc")
    resources:
        mem_mb=stage_mem_mb("imnn", "abc"),
        runtime=stage_runtime("imnn", "abc"),
    shell:
        "snakelab imnn abc --config {input.config} --chunks {input.chunks} --output {output.npz}"
        " --summary {output.summary} --log {log}"


rule imnn_pmc:
    input:
        config=f"{IMNN_R}/config.json",
        weights=f"{IMNN_R}/fit/weights.npz",
        statistics=f"{IMNN_R}/fit/statistics.npz",
        targets=f"{IMNN_R}/compress/targets.npz",
        chunks=imnn_pmc_abc_chunks,
    output:
        f"{IMNN_R}/lfi/pmc.npz",
    log:
        f"logs/imnn/{IMNN_RUN}/pmc.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "pmc")
    resources:
        mem_mb=stage_mem_mb("imnn", "pmc"),
        runtime=stage_runtime("imnn", "pmc"),
    params:
        fit=lambda wildcards, input: os.path.dirname(input.weights),
    shell:
        "snakelab imnn pmc --config {input.config} --fit-dir {params.fit} --targets {input.targets}"
        " --abc-chunks {input.chunks} --output {output} --threads {threads} --log {log}"


rule imnn_plot:
    input:
        unpack(imnn_plot_inputs),
        config=f"{IMNN_R}/config.json",
    output:
        report(
            imnn_plot_outputs() if IMNN_ON else [],
            caption="../report/imnn_plots.rst",
            category="imnn",
        ),
    log:
        f"logs/imnn/{IMNN_RUN}/plot.log",
    conda:
        "../../envs/imnn.yaml"
    threads: stage_threads("imnn", "plot")
    resources:
        mem_mb=stage_mem_mb("imnn", "plot"),
        runtime=stage_runtime("imnn", "plot"),
    params:
        lfi=imnn_plot_args,
        out=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "snakelab imnn plot --config {input.config} --history {input.history} --metrics {input.metrics}"
        " --targets {input.targets} --ga {input.ga} {params.lfi} --output-dir {params.out} --log {log}"


rule imnn_all:
    input:
        imnn_targets,
    localrule: True


register_targets("imnn", imnn_targets)
