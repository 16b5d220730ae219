"""The code location of a run: runs.location_name with its index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add runs.location_name (NULL for the runs there: they were stored before code
    locations were recorded) and its index."""
    op.add_column("runs", sa.Column("location_name", sa.String(255), nullable=True))
    op.create_index("ix_runs_location_name_id", "runs", ["location_name", "id"])


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_runs_location_name_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("location_name")
