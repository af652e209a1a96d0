"""Synthetic combination screens with a planted ``SparseDrugCombo`` ground truth (spec §10 "Synthetic").

Design: ``n_samples`` samples (``sample_00`` …), ``n_drugs`` drugs (``drug_00`` …) at ``n_doses`` doses
(1.0, 2.0, …), so M = n_drugs · n_doses drug-doses whose ids are drug · n_doses + dose index; control
name ``"control"`` (dose 0.0). Every sample has ``n_plates_per_sample`` one-sample plates
(``plate_000`` …, sample-major) of ``n_combo_wells`` cross-drug combinations (two different drugs, any
doses, slot order random) followed by ``n_single_wells`` single-drug wells (distinct drug-doses, control
in slot 2). A sample's combinations are drawn without replacement over all its plates when the
cross-drug pairs suffice, otherwise without replacement per plate (the small test preset). Defaults:
20 samples, 60 drug-doses, 100 plates of 101 wells = 10,100 experiments.

Truth (D = ``d_true``): W, W0, V0, V1 ~ N(0, 0.5²); V2 ~ N(0, 0.5²) with 70 % of its entries (exactly
round(0.7 · M · D), chosen without replacement) set to 0; α = 0.5; λ = 25. The clean mean μ is spec §4's
mean function; observations are clip(expit(μ + ε), 0, 1), ε ~ N(0, 1/λ). All rows are observed.

Draw order from ``rng(seed)``: W, W0, V0, V1, V2, the zeroed V2 entries; the combinations, the slot
flips, the single-drug wells; the noise ε. Only numpy and h5py are imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.models.gibbs import mean_logit
from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError
from snakelab.core.seeds import rng as seeded_rng

__all__ = ["ALPHA", "CONTROL", "PRECISION", "make_synthetic", "small_preset", "write_synthetic"]

CONTROL = "control"
ALPHA = 0.5
PRECISION = 25.0
SCALE = 0.5
V2_ZERO_FRACTION = 0.7


def small_preset() -> dict[str, int]:
    """Keyword arguments of the small test preset: 8 samples × 10 drugs × 2 doses, 40 plates × 60 wells
    (50 combinations + 10 single-drug wells), D_true 3."""
    return {
        "n_samples": 8,
        "n_drugs": 10,
        "n_doses": 2,
        "n_plates_per_sample": 5,
        "n_combo_wells": 50,
        "n_single_wells": 10,
        "d_true": 3,
    }


def _names(prefix: str, n: int) -> np.ndarray:
    width = len(str(max(n - 1, 0)))
    return np.array([f"{prefix}_{i:0{width}d}" for i in range(n)])


def _check_sizes(sizes: dict[str, int]) -> None:
    for key, value in sizes.items():
        low = 0 if key in ("n_combo_wells", "n_single_wells") else 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(None, key, f"expected an int >= {low}, found {value!r}")
    if sizes["n_combo_wells"] + sizes["n_single_wells"] < 1:
        raise InputError(None, "n_combo_wells", "expected at least one well per plate")


def _expit(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def make_synthetic(
    n_samples: int = 20,
    n_drugs: int = 30,
    n_doses: int = 2,
    n_plates_per_sample: int = 5,
    n_combo_wells: int = 91,
    n_single_wells: int = 10,
    d_true: int = 5,
    seed: int = 0,
) -> tuple[Screen, dict[str, np.ndarray]]:
    """A fully observed synthetic screen and its truth (module docstring).

    Returns ``(screen, truth)``; ``truth`` holds ``W`` (C, D), ``W0`` (C,), ``V0`` (M,), ``V1`` and ``V2``
    (M, D), ``alpha`` and ``precision`` (0-d) and ``mu`` (n,), the clean logit mean of each row, all f8.
    InputError for sizes that cannot be drawn (e.g. more combinations per plate than cross-drug pairs).
    """
    sizes = {
        "n_samples": n_samples,
        "n_drugs": n_drugs,
        "n_doses": n_doses,
        "n_plates_per_sample": n_plates_per_sample,
        "n_combo_wells": n_combo_wells,
        "n_single_wells": n_single_wells,
        "d_true": d_true,
    }
    _check_sizes(sizes)
    m_total = n_drugs * n_doses
    first, second = np.triu_indices(m_total, k=1)
    cross = first // n_doses != second // n_doses
    first, second = first[cross], second[cross]
    if n_combo_wells > first.size:
        raise InputError(
            None,
            "n_combo_wells",
            f"expected at most {first.size} (the cross-drug pairs), found {n_combo_wells}",
        )
    if n_single_wells > m_total:
        raise InputError(
            None, "n_single_wells", f"expected at most {m_total} (the drug-doses), found {n_single_wells}"
        )
    gen = seeded_rng(seed)
    c_total, dims = n_samples, d_true
    truth: dict[str, Any] = {
        "W": gen.normal(0.0, SCALE, (c_total, dims)),
        "W0": gen.normal(0.0, SCALE, c_total),
        "V0": gen.normal(0.0, SCALE, m_total),
        "V1": gen.normal(0.0, SCALE, (m_total, dims)),
        "V2": gen.normal(0.0, SCALE, (m_total, dims)),
    }
    zeroed = gen.choice(m_total * dims, size=round(V2_ZERO_FRACTION * m_total * dims), replace=False)
    truth["V2"].ravel()[zeroed] = 0.0

    n_plates = c_total * n_plates_per_sample
    per_sample = n_plates_per_sample * n_combo_wells
    if per_sample <= first.size:
        picks = gen.permuted(np.tile(np.arange(first.size), (c_total, 1)), axis=1)[:, :per_sample]
    else:
        picks = gen.permuted(np.tile(np.arange(first.size), (n_plates, 1)), axis=1)[:, :n_combo_wells]
    picks = picks.reshape(n_plates, n_combo_wells)
    flip = gen.random((n_plates, n_combo_wells)) < 0.5
    combos = np.stack([first[picks], second[picks]], axis=-1)
    combos = np.where(flip[..., None], combos[..., ::-1], combos)
    singles = gen.permuted(np.tile(np.arange(m_total), (n_plates, 1)), axis=1)[:, :n_single_wells]
    singles = np.stack([singles, np.full_like(singles, -1)], axis=-1)
    ids = np.concatenate([combos, singles], axis=1).reshape(-1, 2)
    wells = n_combo_wells + n_single_wells
    plate_of_row = np.repeat(np.arange(n_plates), wells)
    sample_ids = plate_of_row // n_plates_per_sample

    truth["alpha"] = np.float64(ALPHA)
    truth["precision"] = np.float64(PRECISION)
    mu = mean_logit(truth["W"], truth["W0"], truth["V0"], truth["V1"], truth["V2"], ALPHA, sample_ids, ids)
    truth["mu"] = mu
    noise = gen.normal(0.0, 1.0 / np.sqrt(PRECISION), mu.size)
    observations = np.clip(_expit(mu + noise), 0.0, 1.0)

    drug_names = _names("drug", n_drugs)
    doses = np.arange(1, n_doses + 1, dtype=np.float64)
    ids_safe = np.where(ids < 0, 0, ids)
    names = np.where(ids < 0, CONTROL, drug_names[ids_safe // n_doses])
    dose_values = np.where(ids < 0, 0.0, doses[ids_safe % n_doses])
    sample_names = _names("sample", c_total)
    treatment_mapping = {
        (str(drug_names[m // n_doses]), float(doses[m % n_doses])): m for m in range(m_total)
    }
    treatment_mapping[(CONTROL, 0.0)] = -1
    screen = Screen(
        names,
        dose_values,
        sample_names[sample_ids],
        _names("plate", n_plates)[plate_of_row],
        observations,
        control_treatment_name=CONTROL,
        treatment_mapping=treatment_mapping,
        sample_mapping={str(name): i for i, name in enumerate(sample_names)},
    )
    return screen, truth


def write_synthetic(
    output: str | os.PathLike[str], truth_path: str | os.PathLike[str], **sizes: int
) -> tuple[Path, Path]:
    """Write :func:`make_synthetic` (``sizes``: its keyword arguments, ``seed`` included) atomically:
    the screen to ``output`` (``*.screen.h5`` layout) and the truth to ``truth_path`` (``.npz``)."""
    screen, truth = make_synthetic(**sizes)
    screen.save_h5(output)
    with atomic_path(truth_path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **truth)
    return Path(output), Path(truth_path)
