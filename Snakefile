"""snakelab: scientific machine-learning experiments as chunk-parallel Snakemake rules.

Run the demo:        snakemake --cores 2 --profile workflow/profiles/default
One pipeline only:   snakemake --cores 2 batchie_all
On SLURM:            snakemake --profile workflow/profiles/slurm
"""

from snakemake.utils import min_version, validate

min_version("9.0")


# The demo config, unless --configfile names others: a config file given on the command line is
# complete on its own (the schema fills in defaults), never merged key by key into the demo.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


for _pipeline in config["pipelines"]:

    include: f"workflow/rules/{_pipeline}.smk"


rule all:
    default_target: True
    input:
        all_targets,
    localrule: True
