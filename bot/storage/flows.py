"""Conversation state per flow, in the database: a multi-step flow lives until finished, cancelled or expired.

Each user may have several flows at once, one per kind (a broadcast draft, a 👎 comment, a deletion confirm),
so starting one never ends another. The rows live in the shared database, so every instance of the bot sees
the same state; :meth:`FlowStore.take` consumes a flow atomically, so a confirm pressed twice (or on two
instances) acts once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import ConversationFlow, utcnow

T = TypeVar("T")
UserKey = tuple[str, str]  # (channel, user_id)
MAX_VALUE = 16_000  # a draft notice is at most a few thousand characters; bound what one row may hold


def _upsert(session: Session, key: UserKey, kind: str, value: str, expires_at: dt.datetime, now: dt.datetime) -> None:
    """Start or replace the flow ``kind`` of ``key``; a concurrent insert by another instance is replaced too."""
    where = (
        ConversationFlow.channel == key[0],
        ConversationFlow.external_id == key[1],
        ConversationFlow.kind == kind,
    )
    changed = session.execute(
        update(ConversationFlow).where(*where).values(value=value, expires_at=expires_at, updated_at=now)
    )
    if int(getattr(changed, "rowcount", 0)):
        return
    try:
        with session.begin_nested():
            session.add(
                ConversationFlow(
                    channel=key[0], external_id=key[1], kind=kind, value=value, expires_at=expires_at, updated_at=now
                )
            )
    except IntegrityError:  # another instance inserted it between our update and insert: last writer wins
        session.execute(
            update(ConversationFlow).where(*where).values(value=value, expires_at=expires_at, updated_at=now)
        )


class FlowStore:
    """Async access to the flows of every user; each call is one short transaction off the event loop."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    async def _run(self, work: Callable[[Session], T]) -> T:
        def unit() -> T:
            with self._sessions.begin() as session:
                return work(session)

        return await asyncio.to_thread(unit)

    async def start(self, key: UserKey, kind: str, value: str, *, ttl: float) -> None:
        """Start (or restart) the flow ``kind`` of ``key`` holding ``value`` for ``ttl`` seconds."""
        if len(value) > MAX_VALUE:
            raise ValueError(f"flow value longer than {MAX_VALUE} characters")
        now = self._clock()
        expires_at = now + dt.timedelta(seconds=ttl)
        await self._run(lambda session: _upsert(session, key, kind, value, expires_at, now))

    async def active(self, key: UserKey) -> dict[str, str]:
        """Every live flow of ``key``: kind → value (one indexed read)."""
        now = self._clock()

        def work(session: Session) -> dict[str, str]:
            rows = session.execute(
                select(ConversationFlow.kind, ConversationFlow.value).where(
                    ConversationFlow.channel == key[0],
                    ConversationFlow.external_id == key[1],
                    ConversationFlow.expires_at > now,
                )
            )
            return {kind: value for kind, value in rows.all()}

        return await self._run(work)

    async def get(self, key: UserKey, kind: str) -> str | None:
        """The value of the live flow ``kind`` of ``key``, or None."""
        return (await self.active(key)).get(kind)

    async def take(
        self, key: UserKey, kind: str, value: str | None = None, *, prefix: str | None = None
    ) -> str | None:
        """End the live flow ``kind`` (only if it holds ``value``, or a value starting with ``prefix``, when
        given) and return its value.

        Exactly one caller gets the value, even across instances: the row is deleted by the same statement
        that reads it, so a second press of a confirm button finds nothing. ``prefix`` lets a button carry only
        the nonce at the start of a longer value.
        """
        now = self._clock()

        def work(session: Session) -> str | None:
            statement = delete(ConversationFlow).where(
                ConversationFlow.channel == key[0],
                ConversationFlow.external_id == key[1],
                ConversationFlow.kind == kind,
                ConversationFlow.expires_at > now,
            )
            if value is not None:
                statement = statement.where(ConversationFlow.value == value)
            if prefix is not None:
                statement = statement.where(ConversationFlow.value.startswith(prefix, autoescape=True))
            return session.execute(statement.returning(ConversationFlow.value)).scalar_one_or_none()

        return await self._run(work)

    async def finish(self, key: UserKey, kind: str | None = None) -> None:
        """End the flow ``kind`` of ``key`` (every flow of ``key`` when ``kind`` is None)."""

        def work(session: Session) -> None:
            statement = delete(ConversationFlow).where(
                ConversationFlow.channel == key[0], ConversationFlow.external_id == key[1]
            )
            if kind is not None:
                statement = statement.where(ConversationFlow.kind == kind)
            session.execute(statement)

        await self._run(work)


def purge_expired_flows(*, sessions: sessionmaker[Session], now: dt.datetime | None = None) -> int:
    """Delete flows that expired (nobody finished them); returns how many went."""
    with sessions.begin() as session:
        result = session.execute(delete(ConversationFlow).where(ConversationFlow.expires_at <= (now or utcnow())))
        return int(getattr(result, "rowcount", 0))
