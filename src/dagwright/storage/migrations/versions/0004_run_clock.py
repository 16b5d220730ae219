"""The run change feed: runs.change_seq and the run clock.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add runs.change_seq (0 for the runs there) with its index, and run_clock."""
    op.add_column(
        "runs", sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.create_index("ix_runs_change_seq", "runs", ["change_seq"])
    op.create_table(
        "run_clock",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_table("run_clock")
    op.drop_index("ix_runs_change_seq", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("change_seq")
