"""Retrospective preparation (spec §7): a fully observed screen → ``training`` and ``test`` screens.

Every random draw comes from one generator, :func:`prepare_rng` (spec §3.5), in the order of the steps
in :func:`prepare_screen`; same seed and rep ⇒ same screens. Only numpy and h5py are imported.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.prepare.combo_filter import combo_filter as filter_combinations
from snakelab.batchie.prepare.holdout import check_holdout_fraction, holdout
from snakelab.batchie.prepare.rebuild import rebuild
from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

__all__ = [
    "PlateGenerator",
    "PlateSmoother",
    "prepare_rng",
    "prepare_screen",
    "reveal_random_plate",
    "run_prepare",
]

log = logging.getLogger("snakelab.batchie")


class PlateGenerator(Protocol):
    """An initial plate generator or a plate generator (:mod:`~snakelab.batchie.prepare.registry`)."""

    def generate(self, screen: Screen, rng: np.random.Generator) -> Screen: ...


class PlateSmoother(Protocol):
    """A plate smoother (:mod:`~snakelab.batchie.prepare.registry`)."""

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen: ...


def prepare_rng(seed: int, rep: int) -> np.random.Generator:
    """``default_rng(SeedSequence(seed + rep).generate_state(1)[0])``: the reference's ``--seed`` handling,
    so rep 0 reproduces BATCHIE's prepare. ``seed`` and ``rep`` are non-negative integers."""
    for field, value in (("seed", seed), ("rep", rep)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise InputError(None, field, f"expected a non-negative integer, found {value!r}")
    return np.random.default_rng(np.random.SeedSequence(int(seed) + int(rep)).generate_state(1)[0])


def reveal_random_plate(screen: Screen, rng: np.random.Generator) -> int:
    """Observe one unobserved plate of ``screen`` in place; return its id.

    The plate is ``rng.choice`` over the ascending unobserved plate ids (spec §7 step 4).
    """
    unobserved = screen.unobserved_plate_ids
    if unobserved.size == 0:
        raise InputError(None, "observation_mask", "expected an unobserved plate to reveal, found none")
    plate_id = int(rng.choice(unobserved))
    screen.set_observed(screen.plate_ids == plate_id)
    return plate_id


def _masked(screen: Screen, combo_filter: bool) -> Screen:
    """Steps 1 and 2 without an initial generator in one rebuild: the (filtered) rows, all unobserved."""
    if combo_filter:
        return filter_combinations(screen, masked=True)
    return rebuild(screen, np.arange(screen.size), observation_mask=np.zeros(screen.size, dtype=bool))


def prepare_screen(
    screen: Screen,
    rng: np.random.Generator,
    combo_filter: bool = True,
    initial_plate_generator: PlateGenerator | None = None,
    plate_generator: PlateGenerator | None = None,
    plate_smoother: PlateSmoother | None = None,
    holdout_fraction: float = 0.1,
) -> tuple[Screen, Screen]:
    """(training, test) screens of a fully observed ``screen`` (spec §7), drawing from ``rng`` in order:

    1. ``combo_filter``: keep rows whose treatments all occur in a combination row; ids re-derived.
    2. ``initial_plate_generator.generate`` (e.g. SparseCover), else every row masked (unobserved).
    3. ``plate_generator.generate`` on the unobserved rows (they come first, then the observed rows).
    4. Without an initial generator, one unobserved plate revealed (:func:`reveal_random_plate`).
    5. ``plate_smoother.smooth`` on the unobserved rows (observed rows appended).
    6. Holdout of ``ceil(size · holdout_fraction)`` rows of every unobserved plate into ``test``.

    Both outputs keep row order and carry the mappings of the step-5 screen; ``test`` is all observed.
    Observation values are kept throughout (masked rows hold the truth revealed later).
    """
    check_holdout_fraction(holdout_fraction)
    if initial_plate_generator is not None:
        if combo_filter:
            screen = filter_combinations(screen)
        screen = initial_plate_generator.generate(screen, rng)
    else:
        screen = _masked(screen, combo_filter)
    if plate_generator is not None:
        screen = plate_generator.generate(screen, rng)
    if initial_plate_generator is None:
        reveal_random_plate(screen, rng)  # in place: the screen of step 2 or 3 is always a new one
    if plate_smoother is not None:
        screen = plate_smoother.smooth(screen, rng)
    return holdout(screen, holdout_fraction, rng)


def run_prepare(
    data_path: str | os.PathLike[str],
    training_output: str | os.PathLike[str],
    test_output: str | os.PathLike[str],
    *,
    seed: int = 0,
    rep: int = 0,
    combo_filter: bool = True,
    initial_plate_generator: PlateGenerator | None = None,
    plate_generator: PlateGenerator | None = None,
    plate_smoother: PlateSmoother | None = None,
    holdout_fraction: float = 0.1,
) -> tuple[Screen, Screen]:
    """Load ``data_path``, :func:`prepare_screen` it with :func:`prepare_rng` ``(seed, rep)``, write both.

    Both files are written atomically and only once both are complete; on any error nothing is
    written. Problems with the screen (including no unobserved plate left after prepare, spec §3.3)
    raise :class:`InputError` naming ``data_path``. Returns the (training, test) screens.
    """
    if Path(training_output).resolve() == Path(test_output).resolve():
        raise InputError(None, "test_output", f"expected a path other than training_output {training_output}")
    check_holdout_fraction(holdout_fraction)
    rng = prepare_rng(seed, rep)
    screen = Screen.load_h5(data_path)
    try:
        training, test = prepare_screen(
            screen,
            rng,
            combo_filter=combo_filter,
            initial_plate_generator=initial_plate_generator,
            plate_generator=plate_generator,
            plate_smoother=plate_smoother,
            holdout_fraction=holdout_fraction,
        )
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(data_path, exc.field, exc.expected) from None
    if training.n_unobserved_plates == 0:
        raise InputError(
            data_path,
            "plate_names",
            f"expected at least one unobserved plate after prepare, found none "
            f"({training.n_plates} plates in training, {training.size} rows)",
        )
    with atomic_path(training_output) as training_tmp, atomic_path(test_output) as test_tmp:
        training.save_h5(training_tmp)
        test.save_h5(test_tmp)
    log.info(
        "prepare: training %d rows, %d plates (%d unobserved); test %d rows",
        training.size,
        training.n_plates,
        training.n_unobserved_plates,
        test.size,
    )
    return training, test
