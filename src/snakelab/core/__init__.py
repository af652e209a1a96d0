"""Helpers shared by every pipeline: atomic writes, seeds, config hashing, logging, progress, errors.

Each concept lives in its own module; import from the module (``snakelab.core.atomic``), not from here,
so a stage loads only what it uses.
"""
