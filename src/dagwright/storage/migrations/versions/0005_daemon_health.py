"""Daemon health: one heartbeat row per loop of each daemon, with its host, pid and interval.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Key daemon_heartbeats by (name, daemon_id), so that two daemons on one home are
    both seen, and add host, pid, interval_seconds and stopped_at. Heartbeats are
    transient (a running daemon writes its own again within one pass): the table is
    made anew."""
    op.drop_table("daemon_heartbeats")
    op.create_table(
        "daemon_heartbeats",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("daemon_id", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("interval_seconds", sa.Double(), nullable=True),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
        sa.Column("stopped_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("name", "daemon_id", name="pk_daemon_heartbeats"),
    )


def downgrade() -> None:
    """Back to one row per loop name (the latest heartbeats are dropped)."""
    op.drop_table("daemon_heartbeats")
    op.create_table(
        "daemon_heartbeats",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("daemon_id", sa.String(255), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
    )
