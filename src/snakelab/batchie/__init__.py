"""BATCHIE (Bayesian active learning for combination drug screens) as Snakemake rules over CLI stages.

Modules follow BATCHIE's layout with ``batchie.`` replaced by ``snakelab.batchie.``:
``snakelab.batchie.data`` holds :class:`~snakelab.batchie.data.Screen` (with ``Plate``,
``ScreenSubset`` and ``ExperimentSpace``) and its HDF5 format; ``snakelab.batchie.io`` the cheap
readers and ``screen_metadata.json``; ``snakelab.batchie.demo`` the five-plate demo screens.

Importing this package loads nothing heavy; numpy and h5py are imported by the modules that use them.
"""
