"""Step logs: the compute_logs table (each step's stdout and stderr, in chunks).

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create compute_logs with its index."""
    op.create_table(
        "compute_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_compute_logs_run_id"),
            nullable=False,
        ),
        sa.Column("step_key", sa.String(255), nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_compute_logs_run_id_step_key_id", "compute_logs", ["run_id", "step_key", "id"]
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_compute_logs_run_id_step_key_id", table_name="compute_logs")
    op.drop_table("compute_logs")
