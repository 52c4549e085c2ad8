"""Web chat: replies queued for the widget.

Revision ID: 0008_webchat
Revises: 0007_inbound
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0008_webchat"
down_revision = "0007_inbound"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create webchat_replies."""
    op.create_table(
        "webchat_replies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("visitor", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webchat_replies"),
    )
    op.create_index("ix_webchat_replies_visitor_id", "webchat_replies", ["visitor", "id"])
    op.create_index("ix_webchat_replies_created_at", "webchat_replies", ["created_at"])


def downgrade() -> None:
    """Drop webchat_replies."""
    op.drop_index("ix_webchat_replies_created_at", table_name="webchat_replies")
    op.drop_index("ix_webchat_replies_visitor_id", table_name="webchat_replies")
    op.drop_table("webchat_replies")
