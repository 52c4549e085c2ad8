"""Tables of announcements: a broadcast, one delivery row per recipient, and the staff table.

The rows are the truth about who received what: a delivery goes ``pending`` → ``sending`` (claimed by a
worker, with a lease) → ``sent`` / ``failed`` / ``blocked`` / ``skipped`` / ``cancelled``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow

# Broadcast statuses.
SCHEDULED = "scheduled"  # waits for its time
SENDING = "sending"  # deliveries exist and are being drained
DONE = "done"
CANCELLED = "cancelled"
MISSED = "missed"  # its time passed while the bot was down, beyond the grace period

# Delivery statuses.
PENDING = "pending"
CLAIMED = "sending"
SENT = "sent"
FAILED = "failed"
BLOCKED = "blocked"
SKIPPED = "skipped"
DROPPED = "cancelled"
OPEN_DELIVERY = (PENDING, CLAIMED)
# The predicate of the partial index on open deliveries, written out literally: SQLite uses a partial index only
# when the query repeats its WHERE terms with the same constants (a bound parameter never matches).
OPEN_PREDICATE_SQL = "status IN ('pending', 'sending')"


class Broadcast(Base):
    """One notice to the subscribers of a topic (and area), sent now or at ``scheduled_at``."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)  # planned notice + occurrence
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(64))
    area: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    total: Mapped[int] = mapped_column(Integer, default=0)
    report_channel: Mapped[str | None] = mapped_column(String(16))
    report_chat_id: Mapped[str | None] = mapped_column(String(64))
    progress_message_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """One recipient of one broadcast."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id", name="uq_deliveries_broadcast_id_user_id"),
        # Open deliveries are a handful next to the sent history: the claim walks only them, in id order.
        Index(
            "ix_deliveries_open",
            "channel",
            "id",
            sqlite_where=text(OPEN_PREDICATE_SQL),
            postgresql_where=text(OPEN_PREDICATE_SQL),
        ),
        Index("ix_deliveries_broadcast_id_status", "broadcast_id", "status"),  # progress counts per status
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column()
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[dt.datetime | None] = mapped_column()
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)


class StaffMember(Base):
    """Someone staff added (``/themcanbo``) who may broadcast, besides ``ADMIN_TELEGRAM_IDS``."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_staff_members_channel_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
