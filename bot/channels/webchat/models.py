"""Tables of the web chat: replies waiting for the widget, and the message ids already answered.

``webchat_replies`` holds each rendered reply under an increasing id, per visitor (the hash of the widget's
random id); the widget asks for what follows the last id it has shown. ``webchat_received`` holds one row per
message id the widget sent, so a message retried after a lost response is answered once, by any instance.
Both are pruned after a few hours: the conversation itself lives in the visitor's browser tab.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow


class WebchatReply(Base):
    """One reply queued for a visitor: the JSON the widget renders."""

    __tablename__ = "webchat_replies"
    __table_args__ = (Index("ix_webchat_replies_visitor_id", "visitor", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    visitor: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class WebchatReceived(Base):
    """A message id the widget sent, already taken for processing."""

    __tablename__ = "webchat_received"
    __table_args__ = (UniqueConstraint("visitor", "message_id", name="uq_webchat_received_visitor_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    visitor: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
