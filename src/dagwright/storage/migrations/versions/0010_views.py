"""Saved views of the runs list, and bulk actions with their per-run results.

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create run_views, bulk_actions and bulk_results."""
    op.create_table(
        "run_views",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("q", sa.Text(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
    )
    op.create_table(
        "bulk_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bulk_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("bulk_id", name="uq_bulk_actions_bulk_id"),
    )
    op.create_table(
        "bulk_results",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "bulk_sid",
            sa.Integer(),
            sa.ForeignKey("bulk_actions.id", ondelete="CASCADE", name="fk_bulk_results_bulk_sid"),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_bulk_results_bulk_sid_outcome_id", "bulk_results", ["bulk_sid", "outcome", "id"]
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_bulk_results_bulk_sid_outcome_id", table_name="bulk_results")
    op.drop_table("bulk_results")
    op.drop_table("bulk_actions")
    op.drop_table("run_views")
