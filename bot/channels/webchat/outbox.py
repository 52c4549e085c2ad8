"""Replies waiting for web chat visitors, in the database so that every instance and a restart see them.

Each reply gets an increasing id (the table's key); the widget asks for what follows the last id it has shown,
so an answer whose response was lost, or that arrived while the page reloaded, is shown next. Rows older than
``keep`` are pruned: the conversation itself lives in the visitor's browser tab. The functions are blocking; the channel
runs them in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat.models import WebchatReply

KEEP = dt.timedelta(hours=6)
MAX_FETCH = 100  # replies returned by one request (a widget that was away long gets the newest ones)


@dataclass(frozen=True)
class Queued:
    """One queued reply: its id and the JSON-ready payload the widget renders."""

    id: int
    payload: dict[str, Any]


class Outbox:
    """Queued replies, per visitor, in the bot's database."""

    def __init__(
        self, *, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime], keep: dt.timedelta = KEEP
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.keep = keep

    def put(self, visitor: str, payloads: list[dict[str, Any]]) -> list[int]:
        """Queue ``payloads`` for ``visitor`` in order; returns their ids."""
        now = self.clock()
        rows = [WebchatReply(visitor=visitor, payload=json.dumps(p, ensure_ascii=False), created_at=now)
                for p in payloads]
        with self.sessions.begin() as session:
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def after(self, visitor: str, last_id: int) -> list[Queued]:
        """What was queued for ``visitor`` after ``last_id``, oldest first (at most the newest ``MAX_FETCH``)."""
        with self.sessions() as session:
            rows = session.execute(
                select(WebchatReply.id, WebchatReply.payload)
                .where(WebchatReply.visitor == visitor, WebchatReply.id > last_id)
                .order_by(WebchatReply.id.desc())
                .limit(MAX_FETCH)
            ).all()
        return [Queued(row.id, json.loads(row.payload)) for row in reversed(rows)]

    def forget(self, visitor: str) -> None:
        """Drop everything kept for ``visitor``."""
        with self.sessions.begin() as session:
            session.execute(delete(WebchatReply).where(WebchatReply.visitor == visitor))

    def prune(self) -> int:
        """Delete replies older than ``keep``; returns how many."""
        cutoff = self.clock() - self.keep
        with self.sessions.begin() as session:
            gone = session.execute(delete(WebchatReply).where(WebchatReply.created_at < cutoff))
            return int(getattr(gone, "rowcount", 0))
