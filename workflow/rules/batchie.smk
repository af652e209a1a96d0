"""batchie: Bayesian active learning for combination drug screens (spec: shared/specs/batchie.md)."""


rule batchie_demo_data:
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


rule batchie_all:
    input:
        rules.batchie_demo_data.output,
    localrule: True


register_targets("batchie", lambda wildcards: rules.batchie_all.input)
