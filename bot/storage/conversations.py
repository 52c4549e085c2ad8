"""Thin async services over the data functions: each call is one unit of work in its own session.

Handlers use these instead of touching SQLAlchemy; the blocking database work runs in a worker thread.

The writes on every message (the user row, the question log) never cost the citizen the answer: when the
database refuses the write (disk full, read-only file, server gone), the failure is reported to
:class:`~bot.health.Health` (``/healthz`` says 503 with the reason, staff are alerted once) and the caller
carries on without the row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.health import Health
from bot.storage import repo

T = TypeVar("T")
TOUCH_INTERVAL = dt.timedelta(minutes=5)
WRITE_COMPONENT = "storage"


class ConversationRecords:
    """Who talked to the bot, what they asked, and what they thought of the answers."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime], health: Health | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._health = health or Health()
        self._recent: dict[tuple[str, str], tuple[dt.datetime, str | None, int]] = {}  # → (seen, name, user id)

    def _unit(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one committed transaction."""
        with self._sessions.begin() as session:
            return work(session)

    async def _run(self, work: Callable[[Session], T]) -> T:
        """Run one unit of work off the event loop."""
        return await asyncio.to_thread(self._unit, work)

    async def touch(self, *, channel: str, external_id: str, display_name: str | None = None) -> None:
        """Create or refresh the user row; a user seen in the last few minutes under the same name is skipped,
        so a conversation costs one write per question rather than two."""
        now = self._clock()
        key = (channel, external_id)
        if self._fresh_user_id(key, now, display_name) is not None:
            return

        def work(session: Session) -> int:
            user = repo.touch_user(
                session=session,
                channel=channel,
                external_id=external_id,
                display_name=display_name,
                now=now,
            )
            session.flush()
            return user.id

        try:
            user_id = await self._run(work)
        except OperationalError as err:
            self._write_failed(err)
            return
        self._remember(key, now, display_name, user_id)

    def _write_failed(self, err: OperationalError) -> None:
        reason = str(err.orig) if err.orig is not None else type(err).__name__
        self._health.problem(WRITE_COMPONENT, f"database writes fail: {reason}", alert=True)

    def _write_ok(self) -> None:
        """A question was logged: writes work again (a user row alone may still fit in a full file)."""
        if WRITE_COMPONENT in self._health.problems():
            self._health.clear(WRITE_COMPONENT)

    def _remember(self, key: tuple[str, str], now: dt.datetime, name: str | None, user_id: int) -> None:
        if len(self._recent) > 50_000:  # bound memory: forget everyone, the next message re-touches
            self._recent.clear()
        self._recent[key] = (now, name, user_id)

    def _fresh_user_id(self, key: tuple[str, str], now: dt.datetime, name: str | None) -> int | None:
        """The user row's id when it was refreshed a few minutes ago under the same name, else None."""
        seen = self._recent.get(key)
        if seen is not None and seen[1] == name and now - seen[0] < TOUCH_INTERVAL:
            return seen[2]
        return None

    async def log_question(
        self,
        *,
        channel: str,
        external_id: str,
        display_name: str | None,
        raw_text: str,
        normalized_text: str,
        decision: str,
        matched_id: str | None,
        confidence: float,
        latency_ms: int,
    ) -> int | None:
        """Log a free-text question; returns the log id, or None when the database refused the write."""

        now = self._clock()
        key = (channel, external_id)
        known = self._fresh_user_id(key, now, display_name)

        def work(session: Session, user_id: int | None) -> tuple[int, int]:
            if user_id is None:  # not seen recently: create or refresh the user row in the same transaction
                user = repo.touch_user(
                    session=session, channel=channel, external_id=external_id, display_name=display_name, now=now
                )
                session.flush()
                user_id = user.id
            log = repo.log_question(
                session=session,
                user_id=user_id,
                raw_text=raw_text,
                normalized_text=normalized_text,
                decision=decision,
                matched_id=matched_id,
                confidence=confidence,
                latency_ms=latency_ms,
                now=now,
            )
            return log.id, user_id

        try:
            try:
                log_id, user_id = await self._run(lambda session: work(session, known))
            except IntegrityError:
                if known is None:
                    raise
                # the user row went away (deleted through another instance): create it again, as for a newcomer
                known = None
                log_id, user_id = await self._run(lambda session: work(session, None))
        except OperationalError as err:
            self._write_failed(err)
            return None
        self._write_ok()
        if known is None:
            self._remember(key, now, display_name, user_id)
        return log_id

    async def record_feedback(
        self,
        *,
        channel: str,
        external_id: str,
        helpful: bool,
        question_log_id: int | None = None,
        entry_id: str | None = None,
    ) -> int | None:
        """Record a vote; returns the feedback id, or None when the question is not this user's."""

        def work(session: Session) -> int | None:
            now = self._clock()
            user = repo.touch_user(session=session, channel=channel, external_id=external_id, now=now)
            session.flush()
            feedback = repo.record_feedback(
                session=session,
                user=user,
                helpful=helpful,
                question_log_id=question_log_id,
                entry_id=entry_id,
                now=now,
            )
            return None if feedback is None else feedback.id

        return await self._run(work)

    async def add_comment(self, *, channel: str, external_id: str, feedback_id: int, comment: str) -> bool:
        """Attach a comment to the user's own feedback."""

        def work(session: Session) -> bool:
            user = repo.get_user(session=session, channel=channel, external_id=external_id)
            if user is None:
                return False
            return repo.set_feedback_comment(session=session, user=user, feedback_id=feedback_id, comment=comment)

        return await self._run(work)

    async def set_subscribed(
        self, *, channel: str, external_id: str, display_name: str | None, subscribed: bool
    ) -> bool:
        """Set the subscription flag; returns the previous value."""

        def work(session: Session) -> bool:
            user = repo.touch_user(
                session=session,
                channel=channel,
                external_id=external_id,
                display_name=display_name,
                now=self._clock(),
            )
            return repo.set_subscribed(session=session, user=user, subscribed=subscribed)

        return await self._run(work)

    def forget(self, *, channel: str, external_id: str) -> None:
        """Drop the "recently seen" mark, so the next message refreshes the user row at once."""
        self._recent.pop((channel, external_id), None)

    async def delete_user(self, *, channel: str, external_id: str) -> bool:
        """Delete everything stored about the user; False when nothing was stored."""
        self._recent.pop((channel, external_id), None)
        return await self._run(
            lambda session: repo.delete_user_data(session=session, channel=channel, external_id=external_id)
        )
