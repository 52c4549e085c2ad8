"""Fixtures for announcement tests: subscribers and delivery history in a migrated database, a round-trip
counter, and the fake Telegram server."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.broadcast.models import DONE, SENT, Broadcast, Delivery  # noqa: E402
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


class RoundTrips:
    """Counts database round trips on an engine: every statement, plus BEGIN and COMMIT where the driver sends
    them separately (PostgreSQL outside autocommit; SQLite's BEGIN is already a statement), plus the liveness
    ping of every connection checkout when the pool pings."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.engine = engine
        self._separate_begin = engine.dialect.name != "sqlite"
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        self._pings = bool(getattr(engine.pool, "_pre_ping", False))
        event.listen(engine.pool, "checkout", self._checkout)

    def close(self) -> None:
        """Stop counting."""
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)
        event.remove(self.engine.pool, "checkout", self._checkout)

    def _checkout(self, *_args: Any) -> None:
        if self._pings:  # pool_pre_ping: a "SELECT 1" before handing the connection out
            self.count += 1

    @staticmethod
    def _autocommit(connection: Any) -> bool:
        return bool(connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT")

    def _statement(self, *_args: Any) -> None:
        self.count += 1

    def _begin(self, connection: Any) -> None:
        if self._separate_begin and not self._autocommit(connection):
            self.count += 1

    def _end(self, connection: Any) -> None:
        if not self._autocommit(connection):
            self.count += 1


def seed_history(sessions: sessionmaker[Session], rows: int) -> float:
    """Seed ``rows`` delivered rows of old finished notices (every user × enough old notices); returns seconds."""
    started = time.perf_counter()
    with sessions.begin() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 1
        notices = -(-rows // users)
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
        session.execute(
            insert(Broadcast),
            [
                {"text": f"Thông báo cũ {i}", "status": DONE, "created_at": old, "started_at": old,
                 "finished_at": old, "total": users}
                for i in range(notices)
            ],
        )  # fmt: skip
        old_ids = select(Broadcast.id).where(Broadcast.status == DONE).scalar_subquery()
        chosen = (
            select(Broadcast.id, User.id, text("'telegram'"), User.external_id, text(f"'{SENT}'"))
            .select_from(Broadcast)
            .join(User, text("1 = 1"))
            .where(Broadcast.id.in_(old_ids))
            .limit(rows)
        )
        session.execute(
            insert(Delivery).from_select(["broadcast_id", "user_id", "channel", "chat_id", "status"], chosen)
        )
    with sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE deliveries"))
        else:
            session.execute(text("ANALYZE"))
    return time.perf_counter() - started


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1 (token ``123:TEST``)."""
    with FakeTelegram() as server:
        yield server
