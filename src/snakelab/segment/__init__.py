"""DaCapo-style volumetric segmentation: tasks, U-Net training, validation, blockwise prediction."""

import os as _os

# Idle OpenMP threads sleep instead of spinning: with spinning, torch on 2 threads runs 10-30x slower
# as soon as another process shares the cores (a workstation running several Snakemake jobs).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
