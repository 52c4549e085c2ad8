"""Announcements: broadcasts, deliveries (cascading with users) and staff_members.

Revision ID: 0002_broadcast
Revises: 0001_initial
Create Date: 2026-03-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0002_broadcast"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create broadcasts, deliveries and staff_members."""
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("area", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("report_channel", sa.String(16), nullable=True),
        sa.Column("report_chat_id", sa.String(64), nullable=True),
        sa.Column("progress_message_id", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
        sa.UniqueConstraint("key", name="uq_broadcasts_key"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.String(40), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name="fk_deliveries_broadcast_id_broadcasts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_deliveries_user_id_users", ondelete="CASCADE"),
        sa.UniqueConstraint("broadcast_id", "user_id", name="uq_deliveries_broadcast_id_user_id"),
    )
    op.create_index("ix_deliveries_broadcast_id", "deliveries", ["broadcast_id"])
    op.create_index("ix_deliveries_user_id", "deliveries", ["user_id"])
    op.create_index("ix_deliveries_status_channel", "deliveries", ["status", "channel"])
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_members"),
        sa.UniqueConstraint("channel", "external_id", name="uq_staff_members_channel_external_id"),
    )


def downgrade() -> None:
    """Drop staff_members, deliveries and broadcasts."""
    op.drop_table("staff_members")
    op.drop_index("ix_deliveries_status_channel", table_name="deliveries")
    op.drop_index("ix_deliveries_user_id", table_name="deliveries")
    op.drop_index("ix_deliveries_broadcast_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_broadcasts_status", table_name="broadcasts")
    op.drop_table("broadcasts")
