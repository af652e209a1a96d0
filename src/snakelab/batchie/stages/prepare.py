"""``snakelab batchie prepare``: mask a fully observed screen into training and test screens (spec §7)."""

from __future__ import annotations

import argparse

from snakelab.batchie.commands import class_spec
from snakelab.batchie.prepare.pipeline import run_prepare
from snakelab.batchie.prepare.registry import (
    INITIAL_PLATE_GENERATORS,
    PLATE_GENERATORS,
    PLATE_SMOOTHERS,
)
from snakelab.batchie.registry import build

_ROLES = {
    "initial-plate-generator": INITIAL_PLATE_GENERATORS,
    "plate-generator": PLATE_GENERATORS,
    "plate-smoother": PLATE_SMOOTHERS,
}


def main(args: argparse.Namespace) -> None:
    classes = {}
    for role, registry in _ROLES.items():
        name, params = class_spec(args, role)
        classes[role] = None if name is None else build(registry, role, name, params)
    run_prepare(
        args.data,
        args.training_output,
        args.test_output,
        seed=args.seed,
        rep=args.rep,
        combo_filter=not args.no_combo_filter,
        initial_plate_generator=classes["initial-plate-generator"],
        plate_generator=classes["plate-generator"],
        plate_smoother=classes["plate-smoother"],
        holdout_fraction=args.holdout_fraction,
    )
