"""Genomaps (spec §10): genes placed on a 2-D pixel grid by Gromov-Wasserstein transport, one image per cell.

Modules: ``sampling`` picks the cells and names the map; ``multibatch`` builds, z-scores and stores the
stacked matrix (input, FE reconstruction, RE counterfactual per batch); ``grid`` holds pixel radii, rings
and C2; ``distance`` the gene distance C1; ``gw`` the GW-KL iteration, its two solvers and the placement
quality J; ``assign`` the hard gene → pixel assignment; ``make`` the stage entry
:func:`~snakelab.scmedal.genomap.make.make_genomap`; ``plots`` the figures; ``stats`` the per-pixel tests
(:func:`~snakelab.scmedal.genomap.stats.genomap_stats`). POT is imported only inside the ``emd`` solver,
with its TensorFlow/PyTorch/JAX backends disabled.
"""
