"""The batchie benchmark (spec batchie §12): ``python benchmarks/batchie.py [--quick] [--json FILE]``.

Same as ``python -m snakelab.batchie.bench`` and ``make bench-batchie``; see that module.
"""

import sys

from snakelab.batchie.bench import main

if __name__ == "__main__":
    sys.exit(main())
