"""Plate scoring (spec §6): the per-chunk score files and the scorers that fill them.

``snakelab.batchie.scoring.main`` holds :class:`~snakelab.batchie.scoring.main.ChunkedScoresHolder`
(``score_chunk_<k>.h5``) and re-exports the scorer classes, as BATCHIE's ``batchie.scoring.main`` does.
Importing this package loads nothing heavy.
"""
