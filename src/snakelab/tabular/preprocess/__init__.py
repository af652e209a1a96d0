"""Preprocessing of the tabular pipeline (spec §5): Feature/Label, interpolaters, coders, shaper, window.

One module per concept: :mod:`.filters` (column filters), :mod:`.interpolate`, :mod:`.coders`,
:mod:`.window`, :mod:`.shaper`, :mod:`.features`, :mod:`.labels`, :mod:`.register` (their store
rows), :mod:`.fit` (the per-fold fit on exactly the train rows) and :mod:`.cache` (the sample cache).
Importing this package imports none of them.
"""
