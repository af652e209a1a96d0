"""Alembic migration scripts of the store (run through :mod:`snakelab.store.schema`)."""
