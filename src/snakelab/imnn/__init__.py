"""IMNN: information-maximising neural networks on JAX + optax, as Snakemake rules over CLI stages."""
