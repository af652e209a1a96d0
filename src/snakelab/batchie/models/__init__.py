"""Models of the ``batchie`` pipeline (spec §4) and their evaluation (spec §2.4).

``snakelab.batchie.models.sparse_combo`` holds the theta dataclass
:class:`~snakelab.batchie.models.sparse_combo.SparseDrugComboMCMCSample` and the batched predictions over
stacked thetas; ``snakelab.batchie.models.evaluation`` holds ``ModelEvaluation``;
``snakelab.batchie.models.main`` re-exports both, as BATCHIE's ``batchie.models.main`` does. Importing this
package loads nothing heavy.
"""
