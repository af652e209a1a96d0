"""The five-plate demo screens of BATCHIE (spec §10): ``unmasked_screen.h5`` and ``masked_screen.h5``.

Arity 2, control name ``"control"``, drug doses 1.0, control dose 0.0. The 12 rows, in file order:

===== ======== ======== ======= =========== ==========================
row   plate    sample   slot 1  slot 2      observation (unmasked)
===== ======== ======== ======= =========== ==========================
0     plate_A  sample_A drug_A  control     0.1
1     plate_A  sample_A drug_B  control     0.2
2     plate_A  sample_B drug_A  control     0.1
3     plate_A  sample_B drug_B  control     0.2
4     plate_B  sample_A drug_A  drug_B      0.3
5     plate_B  sample_A drug_A  drug_B      0.4
6     plate_C  sample_A drug_A  drug_B      0.5
7     plate_C  sample_A drug_A  drug_B      0.6
8     plate_D  sample_B drug_A  drug_B      0.7
9     plate_D  sample_B drug_A  drug_B      0.8
10    plate_E  sample_B drug_A  drug_B      0.9
11    plate_E  sample_B drug_A  drug_B      1.0
===== ======== ======== ======= =========== ==========================

Ids: drug_A 0, drug_B 1, control −1; sample_A 0, sample_B 1; plate_A..plate_E 0..4.
``unmasked_screen.h5`` has every row observed (the retrospective demo); ``masked_screen.h5`` observes
only plate_A and stores 0.0 for the other rows (the prospective demo).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from snakelab.batchie.data import Screen

__all__ = ["demo_screens", "make_demo"]

_CONTROL = "control"
_PLATES = ["plate_A"] * 4 + ["plate_B"] * 2 + ["plate_C"] * 2 + ["plate_D"] * 2 + ["plate_E"] * 2
_SAMPLES = ["sample_A", "sample_A", "sample_B", "sample_B"] + ["sample_A"] * 4 + ["sample_B"] * 4
_TREATMENTS = [["drug_A", _CONTROL], ["drug_B", _CONTROL]] * 2 + [["drug_A", "drug_B"]] * 8
_OBSERVATIONS = [0.1, 0.2, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def demo_screens() -> tuple[Screen, Screen]:
    """The (unmasked, masked) demo screens in memory: 12 rows each, see the module docstring."""
    names = np.array(_TREATMENTS, dtype=str)
    doses = np.where(names == _CONTROL, 0.0, 1.0)
    observations = np.array(_OBSERVATIONS, dtype=np.float64)
    unmasked = Screen(names, doses, _SAMPLES, _PLATES, observations, control_treatment_name=_CONTROL)
    observed = np.array(_PLATES) == "plate_A"
    masked = Screen(
        names,
        doses,
        _SAMPLES,
        _PLATES,
        np.where(observed, observations, 0.0),
        observed,
        control_treatment_name=_CONTROL,
    )
    return unmasked, masked


def make_demo(output_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``unmasked_screen.h5`` and ``masked_screen.h5`` into ``output_dir``; return their paths."""
    output_dir = Path(output_dir)
    unmasked, masked = demo_screens()
    paths = (output_dir / "unmasked_screen.h5", output_dir / "masked_screen.h5")
    unmasked.save_h5(paths[0])
    masked.save_h5(paths[1])
    return paths
