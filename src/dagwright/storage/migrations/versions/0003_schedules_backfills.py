"""Schedules, sensors and backfills: instigator state, ticks, sensor run keys, backfills.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create instigator_state, ticks, sensor_run_keys and backfills."""
    op.create_table(
        "instigator_state",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_tick_at", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "ticks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_ticks_kind_name_id", "ticks", ["kind", "name", "id"])
    op.create_index("ix_ticks_kind_name_timestamp", "ticks", ["kind", "name", "timestamp"])
    op.create_table(
        "sensor_run_keys",
        sa.Column("sensor_name", sa.String(255), primary_key=True),
        sa.Column("key_idx", sa.String(129), primary_key=True),
        sa.Column("run_key", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("backfill_id", sa.String(64), nullable=False),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("backfill_id", name="uq_backfills_backfill_id"),
    )
    op.create_index("ix_backfills_status_id", "backfills", ["status", "id"])


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_table("backfills")
    op.drop_table("sensor_run_keys")
    op.drop_table("ticks")
    op.drop_table("instigator_state")
