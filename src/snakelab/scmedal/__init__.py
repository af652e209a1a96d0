"""scmedal: scMEDAL mixed-effects autoencoders for single-cell batch effects (spec: specs/scmedal.md).

Stdlib-only at import: the Snakefile imports :mod:`snakelab.scmedal.config` and
:mod:`snakelab.scmedal.paths` at parse time; TensorFlow, scanpy, umap and POT are imported inside
the stages that need them.
"""
