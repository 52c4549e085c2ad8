"""The Zalo channel's table: the OA's tokens (one row).

``zalo_tokens`` keeps the access and refresh tokens (the refresh token works only once, so the database, not
the environment, is the truth after the first refresh) and the lock lease used on SQLite. Webhook events are
de-duplicated by the channel-neutral inbound log (``bot.inbound``), keyed by ``message.msg_id``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, utcnow

TOKEN_ROW_ID = 1  # one OA per deployment


class ZaloToken(Base):
    """The OA's current tokens, when they expire, and who is refreshing them."""

    __tablename__ = "zalo_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime | None] = mapped_column()
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column()
    seeded_from: Mapped[str | None] = mapped_column(String(64))  # fingerprint of the ZALO_OA_* settings
    refreshed_at: Mapped[dt.datetime | None] = mapped_column()
    refresh_count: Mapped[int] = mapped_column(Integer, default=0)
    lock_owner: Mapped[str | None] = mapped_column(String(40))
    lock_until: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
