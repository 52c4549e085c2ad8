"""Paths to a person: questions handed to ward staff, and citizens' reports with tracking codes.

Revision ID: 0006_handoff
Revises: 0005_open_deliveries
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0006_handoff"
down_revision = "0005_open_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create handoff_tickets and citizen_reports."""
    op.create_table(
        "handoff_tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("staff_message_id", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_name", sa.String(200), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_handoff_tickets_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tickets"),
    )
    for column in ("user_id", "status", "staff_message_id", "created_at"):
        op.create_index(f"ix_handoff_tickets_{column}", "handoff_tickets", [column])
    op.create_table(
        "citizen_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("photo", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("staff_message_id", sa.String(64), nullable=True),
        sa.Column("assigned_to", sa.String(64), nullable=True),
        sa.Column("assigned_name", sa.String(200), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_citizen_reports_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_citizen_reports"),
        sa.UniqueConstraint("code", name="uq_citizen_reports_code"),
    )
    for column in ("user_id", "status", "staff_message_id", "created_at"):
        op.create_index(f"ix_citizen_reports_{column}", "citizen_reports", [column])


def downgrade() -> None:
    """Drop citizen_reports and handoff_tickets."""
    for column in ("user_id", "status", "staff_message_id", "created_at"):
        op.drop_index(f"ix_citizen_reports_{column}", table_name="citizen_reports")
    op.drop_table("citizen_reports")
    for column in ("user_id", "status", "staff_message_id", "created_at"):
        op.drop_index(f"ix_handoff_tickets_{column}", table_name="handoff_tickets")
    op.drop_table("handoff_tickets")
