"""Inbound durability: every update a channel received, until it is answered (replaces zalo_events).

Revision ID: 0004_inbound
Revises: 0003_zalo
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0004_inbound"
down_revision = "0003_zalo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create inbound_updates; drop zalo_events (the inbound log de-duplicates Zalo events now)."""
    op.create_table(
        "inbound_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("update_key", sa.String(160), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("owner", sa.String(40), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_updates")),
        sa.UniqueConstraint("channel", "update_key", name=op.f("uq_inbound_updates_channel")),
    )
    op.create_index(op.f("ix_inbound_updates_done_at"), "inbound_updates", ["done_at"])
    op.drop_index("ix_zalo_events_received_at", table_name="zalo_events")
    op.drop_table("zalo_events")


def downgrade() -> None:
    """Drop inbound_updates; bring back zalo_events (empty)."""
    op.create_table(
        "zalo_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zalo_events"),
        sa.UniqueConstraint("event_key", name="uq_zalo_events_event_key"),
    )
    op.create_index("ix_zalo_events_received_at", "zalo_events", ["received_at"])
    op.drop_index(op.f("ix_inbound_updates_done_at"), table_name="inbound_updates")
    op.drop_table("inbound_updates")
