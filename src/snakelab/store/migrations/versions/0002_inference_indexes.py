"""Indexes for inference lookups: the splitsets of a predictor, the predictions of a splitset.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

``snakelab tabular infer`` records an inference Splitset per prediction (``splitset.predictor_id``)
and ``snakelab store show`` lists a predictor's inferences through ``prediction.splitset_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_splitset_predictor_id", "splitset", ["predictor_id"])
    op.create_index("ix_prediction_splitset_id", "prediction", ["splitset_id"])


def downgrade() -> None:
    op.drop_index("ix_prediction_splitset_id", table_name="prediction")
    op.drop_index("ix_splitset_predictor_id", table_name="splitset")
