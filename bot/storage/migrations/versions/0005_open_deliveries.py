"""Deliveries at scale: a partial index on open deliveries for the claim, (broadcast, status) for progress.

The history of sent rows grows by one row per recipient per notice; the claim and the progress count must not
walk it. The old (status, channel) index is replaced by the partial one, which stays as small as the backlog.

Revision ID: 0005_open_deliveries
Revises: 0004_flows
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_open_deliveries"
down_revision = "0004_flows"
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'sending')"


def upgrade() -> None:
    """Create the partial and the (broadcast_id, status) index; drop the ones they replace."""
    op.create_index(
        "ix_deliveries_open",
        "deliveries",
        ["channel", "id"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_index("ix_deliveries_broadcast_id_status", "deliveries", ["broadcast_id", "status"])
    op.drop_index("ix_deliveries_status_channel", table_name="deliveries")
    op.drop_index("ix_deliveries_broadcast_id", table_name="deliveries")


def downgrade() -> None:
    """Restore the indexes of 0002."""
    op.create_index("ix_deliveries_broadcast_id", "deliveries", ["broadcast_id"])
    op.create_index("ix_deliveries_status_channel", "deliveries", ["status", "channel"])
    op.drop_index("ix_deliveries_broadcast_id_status", table_name="deliveries")
    op.drop_index("ix_deliveries_open", table_name="deliveries")
