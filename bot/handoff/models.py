"""Tables of the paths to a person: questions handed to ward staff, and citizens' reports (phản ánh, kiến nghị).

Both reference ``users.id`` with ``ON DELETE CASCADE``: a citizen's ``/xoadulieu`` removes them with the user row.
``staff_message_id`` is the id of the message the bot posted in the staff group, so a staff member's reply to that
message finds its question or report.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow

OPEN, CLAIMED, ANSWERED = "open", "claimed", "answered"
NEW, ASSIGNED, REPLIED, CLOSED = "new", "assigned", "replied", "closed"


class HandoffTicket(Base):
    """A citizen's question passed to ward staff, who claim and answer it."""

    __tablename__ = "handoff_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="")  # the recent exchange, as shown to staff
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    staff_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_name: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    answered_at: Mapped[dt.datetime | None] = mapped_column()


class CitizenReport(Base):
    """A citizen's report with a tracking code (``PA-2026-00042``), handled by staff until closed."""

    __tablename__ = "citizen_reports"
    __table_args__ = (UniqueConstraint("code", name="uq_citizen_reports_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(Text)  # the channel's file id or URL of the photo
    contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=NEW, index=True)
    staff_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    assigned_name: Mapped[str | None] = mapped_column(String(200))
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column()
