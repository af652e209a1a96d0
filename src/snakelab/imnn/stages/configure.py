"""``snakelab imnn config``: resolve and check the ``imnn:`` section, write ``config.json`` (the file every
other stage reads)."""

from __future__ import annotations

import argparse
import json
import logging

from snakelab.core import atomic
from snakelab.imnn import config

log = logging.getLogger("snakelab.imnn.config")


def main(args: argparse.Namespace) -> None:
    section = json.loads(args.section_json)
    resolved = config.resolve(config.with_defaults(section), args.source)
    atomic.write_text(args.output, json.dumps(resolved, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s (%s)", args.output, config.run_name(resolved))
