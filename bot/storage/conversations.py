"""Thin async services over the data functions: each call is one unit of work in its own session.

Handlers use these instead of touching SQLAlchemy; the blocking database work runs in a worker thread.

Keeping the user row fresh and logging a question are best-effort: when the database refuses the write (disk
full, read-only file, lost server) the citizen still gets the answer. :class:`WritePath` counts the failures,
logs one line per period instead of a traceback per message, and gives the health check its status.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import repo

T = TypeVar("T")
TOUCH_INTERVAL = dt.timedelta(minutes=5)
REPORT_EVERY = 300.0  # seconds between two log lines about failing writes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteStatus:
    """What the health check reads: ``ok`` unless the last best-effort write failed."""

    ok: bool
    failures: int  # failed writes since the process started
    reason: str | None  # the last failure, short and without SQL parameters


class WritePath:
    """Outcome of best-effort writes: the latest one decides ``ok``; failures are logged once per period."""

    def __init__(self, *, report_every: float = REPORT_EVERY, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._report_every = report_every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._ok = True
        self._failures = 0
        self._unreported = 0
        self._reason: str | None = None
        self._last_report: float | None = None

    def succeeded(self) -> None:
        """A write went through: the write path is healthy again (said once in the log after failures)."""
        with self._lock:
            if self._ok:
                return
            self._ok = True
        log.warning("database writes work again after %d failed", self._failures)

    def failed(self, what: str, exc: BaseException) -> None:
        """A write was refused; log it unless a line went out less than ``report_every`` seconds ago."""
        reason = f"{what}: {type(exc).__name__}: {_first_line(exc)}"
        now = self._monotonic()
        with self._lock:
            self._ok = False
            self._failures += 1
            self._unreported += 1
            self._reason = reason
            if self._last_report is not None and now - self._last_report < self._report_every:
                return
            self._last_report, count, self._unreported = now, self._unreported, 0
        log.error("database write failed, answering anyway (%d failed since the last report): %s", count, reason)

    def status(self) -> WriteStatus:
        """The current status for ``/healthz``."""
        with self._lock:
            return WriteStatus(self._ok, self._failures, None if self._ok else self._reason)


def _first_line(exc: BaseException) -> str:
    """The exception's first line, bounded (SQLAlchemy appends the statement on later lines)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else "")[:200]


class ConversationRecords:
    """Who talked to the bot, what they asked, and what they thought of the answers."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime]) -> None:
        self._sessions = sessions
        self._clock = clock
        self._recent: dict[tuple[str, str], tuple[dt.datetime, str | None, int]] = {}  # → (seen, name, user id)
        self.write_path = WritePath()

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
        except (SQLAlchemyError, OSError) as exc:
            self.write_path.failed("refreshing a user", exc)
            return
        self.write_path.succeeded()
        self._remember(key, now, display_name, user_id)

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
        except (SQLAlchemyError, OSError) as exc:
            self.write_path.failed("logging a question", exc)
            return None
        self.write_path.succeeded()
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
