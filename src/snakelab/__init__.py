"""snakelab: scientific machine-learning experiments as chunk-parallel Snakemake workflows.

Importing the package loads nothing heavy; each pipeline subpackage imports its own framework
inside the stage that needs it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("snakelab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
