"""scMEDAL (mixed-effects deep autoencoders for scRNA-seq batch effects) as Snakemake stages."""
