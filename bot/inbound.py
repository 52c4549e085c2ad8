"""Inbound durability: every update is written down before it is acknowledged and done only once answered.

A channel calls :meth:`InboundLog.claim` with the update's key (Telegram's ``update_id``, Zalo's ``msg_id``)
and a payload it can rebuild the update from, *before* it acknowledges the update (Telegram: before the next
``getUpdates`` offset or the webhook's 200; Zalo: before the webhook's 200). ``claim`` says whether to
process it:

- a new key is taken by this process (``owner`` = this process, lease ``lease_seconds``);
- a key already done is a duplicate (Telegram's webhook retries, Zalo's re-sent events): dropped;
- a key not done whose lease ran out (its process died) is taken over: Zalo's re-sent event of a reply that
  never went out is answered, not dropped.

After the reply was delivered (or refused for good: blocked, bad request) the channel calls
:meth:`InboundLog.finish`. :func:`recover` (at start and then every few seconds) takes the unfinished updates
whose lease ran out: each is answered again, or, when older than ``answer_deadline`` or tried
``max_attempts`` times, the person gets an apology instead. Done rows are purged after ``retention``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.messages import DeliveryError
from bot.settings import Settings
from bot.storage.models import Base, utcnow

log = logging.getLogger(__name__)

Sessions = sessionmaker[Session]
DONE_RETENTION = dt.timedelta(days=7)  # answered updates are remembered this long: re-sent ones stay duplicates


class InboundUpdate(Base):
    """One update a channel received: its payload until answered, and who is answering it."""

    __tablename__ = "inbound_updates"
    __table_args__ = (UniqueConstraint("channel", "update_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str] = mapped_column(String(160))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    done_at: Mapped[dt.datetime | None] = mapped_column(index=True)


@dataclass(frozen=True)
class Pending:
    """An unfinished update taken over by this process."""

    key: str
    chat_id: str | None
    payload: str
    received_at: dt.datetime
    attempts: int


class InboundLog:
    """The ``inbound_updates`` rows of one channel, as seen by one process."""

    def __init__(
        self,
        sessions: Sessions,
        channel: str,
        *,
        lease_seconds: float = 90.0,
        answer_deadline: float = 900.0,
        max_attempts: int = 3,
        retention: dt.timedelta = DONE_RETENTION,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.answer_deadline = dt.timedelta(seconds=answer_deadline)
        self.max_attempts = max_attempts
        self.retention = retention
        self.clock = clock
        self.owner = secrets.token_hex(8)

    @classmethod
    def for_channel(cls, services: Any, settings: Settings, channel: str) -> InboundLog:
        """The log of ``channel`` with the ``INBOUND_*`` settings and the services' clock."""
        return cls(services.sessions, channel, lease_seconds=settings.inbound_lease_seconds,
                   answer_deadline=settings.inbound_answer_deadline, clock=services.clock)

    def claim(self, key: str, payload: str, chat_id: str | None = None) -> bool:
        """Record the update ``key``; True when this process should answer it (see the module docstring)."""
        now = self.clock()
        try:
            with self.sessions.begin() as session:
                session.add(InboundUpdate(
                    channel=self.channel, update_key=key[:160], chat_id=chat_id, payload=payload, received_at=now,
                    owner=self.owner, lease_until=now + self.lease, attempts=1,
                ))  # fmt: skip
            return True
        except IntegrityError:
            pass
        with self.sessions.begin() as session:
            result = session.execute(
                update(InboundUpdate)
                .where(
                    InboundUpdate.channel == self.channel,
                    InboundUpdate.update_key == key[:160],
                    InboundUpdate.done_at.is_(None),
                    InboundUpdate.lease_until < now,
                )
                .values(owner=self.owner, lease_until=now + self.lease, attempts=InboundUpdate.attempts + 1)
            )
            return int(getattr(result, "rowcount", 0)) > 0

    def finish(self, key: str) -> None:
        """The update ``key`` was answered (or refused for good): never answer it again."""
        with self.sessions.begin() as session:
            session.execute(
                update(InboundUpdate)
                .where(InboundUpdate.channel == self.channel, InboundUpdate.update_key == key[:160])
                .values(done_at=self.clock(), payload="")
            )

    def take_expired(self, limit: int = 100) -> list[Pending]:
        """Unfinished updates whose lease ran out, now leased to this process."""
        now = self.clock()
        with self.sessions.begin() as session:
            rows = session.execute(
                select(InboundUpdate.id)
                .where(
                    InboundUpdate.channel == self.channel,
                    InboundUpdate.done_at.is_(None),
                    InboundUpdate.lease_until < now,
                    InboundUpdate.owner != self.owner,  # ours are in flight (or failed: the next start retries)
                )
                .order_by(InboundUpdate.id)
                .limit(limit)
            ).scalars().all()
            taken: list[Pending] = []
            for row_id in rows:
                result = session.execute(
                    update(InboundUpdate)
                    .where(InboundUpdate.id == row_id, InboundUpdate.done_at.is_(None),
                           InboundUpdate.lease_until < now)
                    .values(owner=self.owner, lease_until=now + self.lease, attempts=InboundUpdate.attempts + 1)
                )
                if int(getattr(result, "rowcount", 0)) == 0:
                    continue  # another instance took it
                row = session.get(InboundUpdate, row_id)
                if row is not None:
                    taken.append(Pending(row.update_key, row.chat_id, row.payload, row.received_at, row.attempts))
            return taken

    def purge(self) -> int:
        """Delete done rows older than ``retention``; returns how many."""
        with self.sessions.begin() as session:
            result = session.execute(
                delete(InboundUpdate).where(
                    InboundUpdate.channel == self.channel,
                    InboundUpdate.done_at.is_not(None),
                    InboundUpdate.done_at < self.clock() - self.retention,
                )
            )
            return int(getattr(result, "rowcount", 0))

    def overdue(self, pending: Pending) -> bool:
        """True when ``pending`` should get an apology rather than a late answer."""
        too_old = self.clock() - pending.received_at > self.answer_deadline
        return too_old or pending.attempts > self.max_attempts


Replay = Callable[[Pending], Awaitable[None]]


def apology(send: Callable[[str], Awaitable[object]]) -> Replay:
    """The ``apologize`` of :func:`recover`: ``send(chat_id)`` the late-answer apology; a failure is not retried."""

    async def apologize(pending: Pending) -> None:
        if pending.chat_id is not None:
            with contextlib.suppress(DeliveryError):
                await send(pending.chat_id)

    return apologize


async def recover(inbound: InboundLog, replay: Replay, apologize: Replay) -> int:
    """Answer (or apologise for) every unfinished update whose lease ran out; returns how many were taken."""
    taken = await asyncio.to_thread(inbound.take_expired)
    for pending in taken:
        late = inbound.overdue(pending)
        try:
            await (apologize if late else replay)(pending)
        except Exception:
            log.exception("recovering a %s update failed; it is tried again later", inbound.channel)
            continue
        if late:
            await asyncio.to_thread(inbound.finish, pending.key)
    if taken:
        log.info("took over %d unanswered %s updates", len(taken), inbound.channel)
    return len(taken)


async def recovery_loop(inbound: InboundLog, replay: Replay, apologize: Replay, interval: float = 5.0) -> None:
    """:func:`recover` now and every ``interval`` seconds (purging old rows now and then) until cancelled."""
    rounds = 0
    while True:
        try:
            await recover(inbound, replay, apologize)
            if rounds % 720 == 0:
                purged = await asyncio.to_thread(inbound.purge)
                if purged:
                    log.info("forgot %d answered %s updates", purged, inbound.channel)
        except Exception:
            log.exception("inbound recovery failed")
        rounds += 1
        await asyncio.sleep(interval)
