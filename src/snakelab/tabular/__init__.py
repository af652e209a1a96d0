"""The tabular pipeline: AIQC's metastore workflow (Dataset → Feature/Label → Splitset/Folds → Queue →
Job → Predictor → Prediction) on :mod:`snakelab.store`, one Snakemake rule per stage (spec §4–§11).

Importing this package creates no file, opens no connection and imports nothing heavy; import the
module a stage needs (``snakelab.tabular.datasets``, ``snakelab.tabular.splits``,
``snakelab.tabular.preprocess.fit``, ...).
"""
