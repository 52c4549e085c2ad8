"""Conversation state per flow (drafts, 👎 comments, deletion confirms), shared by every instance.

Revision ID: 0004_flows
Revises: 0003_zalo
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0004_flows"
down_revision = "0003_zalo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create conversation_flows."""
    op.create_table(
        "conversation_flows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_flows"),
        sa.UniqueConstraint("channel", "external_id", "kind", name="uq_conversation_flows_channel_external_id"),
    )
    op.create_index("ix_conversation_flows_expires_at", "conversation_flows", ["expires_at"])


def downgrade() -> None:
    """Drop conversation_flows."""
    op.drop_index("ix_conversation_flows_expires_at", table_name="conversation_flows")
    op.drop_table("conversation_flows")
