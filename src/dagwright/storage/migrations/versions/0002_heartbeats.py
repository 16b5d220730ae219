"""Run workers, daemon heartbeats, and an index of finished runs by end time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create run_workers and daemon_heartbeats; index runs by (status, ended_at)."""
    op.create_index("ix_runs_status_ended_at", "runs", ["status", "ended_at"])
    op.create_table(
        "run_workers",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_run_workers_run_id"),
            primary_key=True,
        ),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "daemon_heartbeats",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("daemon_id", sa.String(255), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_runs_status_ended_at", table_name="runs")
    op.drop_table("daemon_heartbeats")
    op.drop_table("run_workers")
