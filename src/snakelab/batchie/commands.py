"""Argument definitions of the ``snakelab batchie <stage>`` commands.

Imports only ``argparse``; each handler imports its stage's module when it runs. One stage per
Snakemake rule in ``workflow/rules/batchie.smk``:

=====================  ===================  ==========================================
rule                   stage                function
=====================  ===================  ==========================================
``batchie_demo_data``  ``make-demo``        :func:`snakelab.batchie.demo.make_demo`
(by hand)              ``metadata``         :func:`snakelab.batchie.io.write_screen_metadata`
=====================  ===================  ==========================================
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("snakelab.batchie")


def _make_demo(args: argparse.Namespace) -> None:
    from snakelab.batchie.demo import make_demo

    unmasked, masked = make_demo(args.output_dir)
    log.info("wrote %s and %s", unmasked, masked)


def _metadata(args: argparse.Namespace) -> None:
    from snakelab.batchie.data import Screen
    from snakelab.batchie.io import write_screen_metadata

    write_screen_metadata(Screen.load_h5(args.screen), args.output)
    log.info("wrote %s", args.output)


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the batchie stages to ``parser`` (the ``snakelab batchie`` group)."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    demo = stages.add_parser(
        "make-demo",
        parents=[common],
        help="write BATCHIE's 5-plate demo screens",
        description="Write unmasked_screen.h5 (all observed) and masked_screen.h5 (only plate_A observed): "
        "BATCHIE's 12-experiment demo screen.",
    )
    demo.add_argument("--output-dir", required=True, metavar="DIR", help="directory for the two screens")
    demo.set_defaults(handler=_make_demo)

    metadata = stages.add_parser(
        "metadata",
        parents=[common],
        help="write screen_metadata.json of a screen",
        description="Count samples, treatments, experiments and (un)observed plates of a screen.",
    )
    metadata.add_argument("--screen", required=True, metavar="H5", help="a BATCHIE screen (.h5)")
    metadata.add_argument("--output", required=True, metavar="JSON", help="screen_metadata.json to write")
    metadata.set_defaults(handler=_metadata)
