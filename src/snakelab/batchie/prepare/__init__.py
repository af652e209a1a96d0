"""Retrospective preparation of a fully observed screen (spec §7): ``training`` and ``test`` screens.

The steps, each drawing from the one prepare generator
(:func:`~snakelab.batchie.prepare.pipeline.prepare_rng`) in this order, are: the combination filter
(:mod:`~snakelab.batchie.prepare.combo_filter`), an optional initial plate generator
(:mod:`~snakelab.batchie.prepare.initial_plates`) or else every row masked, an optional plate
generator (:mod:`~snakelab.batchie.prepare.plate_generators`), one plate revealed at random when there
is no initial generator, an optional plate smoother (:mod:`~snakelab.batchie.prepare.smoothers`) and
the holdout (:mod:`~snakelab.batchie.prepare.holdout`).
:func:`~snakelab.batchie.prepare.pipeline.prepare_screen` runs them in memory and
:func:`~snakelab.batchie.prepare.pipeline.run_prepare` from file to files; the classes a command line
may name are listed in :mod:`~snakelab.batchie.prepare.registry`.
"""
