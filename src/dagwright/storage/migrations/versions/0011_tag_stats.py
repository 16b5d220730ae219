"""Tag analytics: per-key figures kept up to date from the run change feed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VALUE = 129  # SHORT_VALUE_CHARS + 1, as in schema.py


def upgrade() -> None:
    """Create tag_stats_keys, tag_stats_runs, tag_stats_days and tag_stats_durations."""
    op.create_table(
        "tag_stats_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sid", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "tag_stats_runs",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("run_sid", sa.Integer(), nullable=False),
        sa.Column("value_idx", sa.String(_VALUE), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key", "run_sid", name="pk_tag_stats_runs"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "tag_stats_days",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value_idx", sa.String(_VALUE), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("canceled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "value_idx", "day", name="pk_tag_stats_days"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "tag_stats_durations",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value_idx", sa.String(_VALUE), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "value_idx", "day", "bucket", name="pk_tag_stats_durations"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    for table in ("tag_stats_durations", "tag_stats_days", "tag_stats_runs", "tag_stats_keys"):
        op.drop_table(table)
