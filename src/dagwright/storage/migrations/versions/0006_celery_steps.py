"""Distributed steps: step outputs in the database, and step claims.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run_id() -> sa.Column[str]:
    return sa.Column("run_id", sa.String(64), nullable=False)


def upgrade() -> None:
    """Create step_outputs and step_claims (each row goes with its run)."""
    op.create_table(
        "step_outputs",
        _run_id(),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("output", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], ondelete="CASCADE", name="fk_step_outputs_run_id"
        ),
        sa.PrimaryKeyConstraint("run_id", "node", "output", name="pk_step_outputs"),
    )
    op.create_table(
        "step_claims",
        _run_id(),
        sa.Column("step_key", sa.String(255), nullable=False),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.Double(), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], ondelete="CASCADE", name="fk_step_claims_run_id"
        ),
        sa.PrimaryKeyConstraint("run_id", "step_key", name="pk_step_claims"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_table("step_claims")
    op.drop_table("step_outputs")
