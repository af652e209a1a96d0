"""Likelihood-free inference with the compressed summaries (spec §10, §11).

:mod:`.prior` (uniform box, index-addressed draws), :mod:`.grid` (grids, marginal densities,
credible levels), :mod:`.ga` (Gaussian approximation), :mod:`.abc` (rejection ABC in chunks and its
join), :mod:`.pmc` (ABC population Monte Carlo), :mod:`.corner` (the posterior corner plot). NumPy and
SciPy only; the simulator and compressor are callables passed in (see :mod:`.abc`).
"""
