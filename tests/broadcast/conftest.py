"""Fixtures for announcement tests: subscribers in a migrated database, and the fake Telegram server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.storage.models import User, utcnow  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402


def add_subscribers(
    sessions: sessionmaker[Session],
    count: int,
    *,
    first_id: int = 100_000,
    channel: str = "telegram",
    topics: str = "",
    area: str | None = None,
) -> list[int]:
    """Insert ``count`` subscribed users with consecutive chat ids; returns the ids."""
    ids = list(range(first_id, first_id + count))
    now = utcnow()
    rows = [
        {
            "channel": channel, "external_id": str(i), "display_name": None, "first_seen": now, "last_seen": now,
            "is_active": True, "subscribed": True, "topics": topics, "area": area,
        }
        for i in ids
    ]  # fmt: skip
    with sessions.begin() as session:
        session.execute(insert(User), rows)
    return ids


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1 (token ``123:TEST``)."""
    with FakeTelegram() as server:
        yield server
