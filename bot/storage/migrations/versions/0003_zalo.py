"""Zalo OA: the token row and the processed-events table.

Revision ID: 0003_zalo
Revises: 0002_broadcast
Create Date: 2026-03-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0003_zalo"
down_revision = "0002_broadcast"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create zalo_tokens and zalo_events."""
    op.create_table(
        "zalo_tokens",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("access_expires_at", UTCDateTime(), nullable=True),
        sa.Column("refresh_expires_at", UTCDateTime(), nullable=True),
        sa.Column("seeded_from", sa.String(64), nullable=True),
        sa.Column("refreshed_at", UTCDateTime(), nullable=True),
        sa.Column("refresh_count", sa.Integer(), nullable=False),
        sa.Column("lock_owner", sa.String(40), nullable=True),
        sa.Column("lock_until", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zalo_tokens"),
    )
    op.create_table(
        "zalo_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_zalo_events"),
        sa.UniqueConstraint("event_key", name="uq_zalo_events_event_key"),
    )
    op.create_index("ix_zalo_events_received_at", "zalo_events", ["received_at"])


def downgrade() -> None:
    """Drop zalo_events and zalo_tokens."""
    op.drop_index("ix_zalo_events_received_at", table_name="zalo_events")
    op.drop_table("zalo_events")
    op.drop_table("zalo_tokens")
