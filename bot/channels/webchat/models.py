"""The web chat's table: replies waiting for the widget.

``webchat_replies`` holds each rendered reply under an increasing id, per visitor (the hash of the widget's
random id); the widget asks for what follows the last id it has shown. Rows are pruned after a few hours: the
conversation itself lives in the visitor's browser tab. (Messages the widget sent are recorded in the shared
inbound log, which answers each once.)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
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
