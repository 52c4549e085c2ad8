"""The delivery engine: workers claim small batches of pending deliveries, send them and record each outcome.

A claim sets ``status='sending'``, a random ``claim_token`` and a lease (``claimed_until``). On PostgreSQL the
claim selects rows ``FOR UPDATE SKIP LOCKED``, so several processes drain one broadcast together without
sending a row twice; on SQLite the single ``UPDATE … RETURNING`` is atomic by itself. A row is marked ``sent``
right after the channel's OK, so a crash repeats at most the message in flight; the dead worker's other
claims expire with their lease and are sent by whoever comes next.

Retries are durable (the row goes back to pending with a later ``not_before``): after a 429, and after errors
that prove nothing was sent (an error answer, no connection). An :class:`~bot.messages.AmbiguousError` (the
answer was lost; the notice may have arrived) is not retried: the row is failed as "uncertain, not retried",
so nobody gets a notice twice. With a channel's gateway as sender, pacing is the gateway's (one budget shared
with replies, which go first).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.broadcast.models import (
    BLOCKED,
    CLAIMED,
    DROPPED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    Broadcast,
    Delivery,
)
from bot.broadcast.service import finish_if_drained
from bot.messages import AmbiguousError, DeliveryError, PermanentError, RateLimited, RecipientBlocked, Reply, Sender
from bot.storage.models import User, utcnow

log = logging.getLogger(__name__)

Sessions = sessionmaker[Session]
Render = Callable[[str], Reply]  # notice text → the reply citizens see
Eligibility = Callable[[str], Awaitable[str | None]]  # chat id → reason to skip, or None to send
Finished = Callable[[int], Awaitable[None]]  # called once by the worker that completes a broadcast
UNCERTAIN = "uncertain, not retried"  # reason prefix of a delivery whose answer was lost (it may have arrived)


@dataclass(frozen=True)
class EngineConfig:
    """Tuning of the workers (from the settings)."""

    batch_size: int = 10
    lease_seconds: float = 60.0
    max_attempts: int = 5
    poll_interval: float = 0.5
    backoff_base: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True)
class Claimed:
    """One delivery claimed by a worker."""

    id: int
    broadcast_id: int
    user_id: int
    chat_id: str
    attempts: int


def claim_batch(
    *, sessions: Sessions, channel: str, token: str, limit: int, lease_seconds: float, now: dt.datetime | None = None
) -> list[Claimed]:
    """Claim up to ``limit`` deliveries due now (or whose lease expired) on ``channel`` for ``token``."""
    now = now or utcnow()

    def work(session: Session) -> list[Claimed]:
        due = or_(
            and_(Delivery.status == PENDING, or_(Delivery.not_before.is_(None), Delivery.not_before <= now)),
            and_(Delivery.status == CLAIMED, Delivery.claimed_until < now),
        )
        candidates = (
            select(Delivery.id)
            .where(
                Delivery.channel == channel,
                due,
                Delivery.broadcast_id.in_(select(Broadcast.id).where(Broadcast.status == SENDING)),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True, of=Delivery)
        rows = session.execute(
            update(Delivery)
            .where(Delivery.id.in_(candidates.scalar_subquery()))
            .values(status=CLAIMED, claim_token=token, claimed_until=now + dt.timedelta(seconds=lease_seconds))
            .returning(Delivery.id, Delivery.broadcast_id, Delivery.user_id, Delivery.chat_id, Delivery.attempts)
        ).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    with sessions.begin() as session:
        return work(session)


def settle(
    *,
    sessions: Sessions,
    delivery_id: int,
    token: str,
    status: str,
    reason: str | None = None,
    attempts: int | None = None,
    not_before: dt.datetime | None = None,
    deactivate_user: int | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Record the outcome of one claimed delivery (only while ``token`` still holds the claim)."""
    now = now or utcnow()
    values: dict[str, object] = {"status": status, "claim_token": None, "claimed_until": None, "reason": reason}
    if status == SENT:
        values["sent_at"] = now
    if attempts is not None:
        values["attempts"] = attempts
    values["not_before"] = not_before
    with sessions.begin() as session:
        result = session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.claim_token == token).values(**values)
        )
        if deactivate_user is not None:
            session.execute(update(User).where(User.id == deactivate_user).values(is_active=False))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_claims(*, sessions: Sessions, token: str) -> int:
    """Give back every delivery still claimed by ``token`` (a worker stopping cleanly)."""
    with sessions.begin() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.claim_token == token, Delivery.status == CLAIMED)
            .values(status=PENDING, claim_token=None, claimed_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def recover_stale_claims(*, sessions: Sessions, channel: str) -> int:
    """Return every claimed row of ``channel`` to pending: only safe when this is the only worker (SQLite)."""
    with sessions.begin() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.channel == channel, Delivery.status == CLAIMED)
            .values(status=PENDING, claim_token=None, claimed_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def broadcast_texts(*, sessions: Sessions, ids: list[int]) -> dict[int, tuple[str, str]]:
    """(status, text) of the given broadcasts."""
    with sessions.begin() as session:
        rows = session.execute(select(Broadcast.id, Broadcast.status, Broadcast.text).where(Broadcast.id.in_(ids)))
        return {i: (s, t) for i, s, t in rows.all()}


class Pacing(Protocol):
    """How a worker paces one channel: :class:`~bot.broadcast.ratelimit.RateLimiter`, or a gateway's pacing."""

    async def acquire(self) -> None:
        """Wait for the next sending slot."""
        ...

    def chat_wait(self, chat_id: str) -> float:
        """Seconds until ``chat_id`` may receive another message."""
        ...

    def sent_to(self, chat_id: str) -> None:
        """Record a message to ``chat_id``."""
        ...

    def throttle(self, retry_after: float) -> None:
        """The channel answered 429."""
        ...

    def success(self) -> None:
        """A message went through."""
        ...


class DeliveryWorker:
    """Drains pending deliveries of one channel through one :class:`~bot.messages.Sender`."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        sender: Sender,
        limiter: Pacing,
        render: Render,
        config: EngineConfig | None = None,
        eligibility: Eligibility | None = None,
        on_finished: Finished | None = None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.channel = sender.channel
        self.limiter = limiter
        self.render = render
        self.config = config or EngineConfig()
        self.eligibility = eligibility
        self.on_finished = on_finished
        self.token = secrets.token_hex(16)
        self.sent = 0
        self.ambiguous = 0  # deliveries that failed in a way that may have delivered them
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for new work now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until ``stop`` is set; sleeps ``poll_interval`` when there is nothing to do."""
        try:
            while not stop.is_set():
                try:
                    done = await self.drain_once(stop)
                except Exception:
                    log.exception("delivery worker error; retrying shortly")
                    done = 0
                if done == 0:
                    self._wake.clear()
                    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                    await asyncio.wait(waiters, timeout=self.config.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                    for waiter in waiters:
                        waiter.cancel()
        finally:
            await asyncio.to_thread(release_claims, sessions=self.sessions, token=self.token)

    async def drain_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and deliver it; returns how many rows were claimed."""
        batch = await asyncio.to_thread(
            claim_batch,
            sessions=self.sessions,
            channel=self.channel,
            token=self.token,
            limit=self.config.batch_size,
            lease_seconds=self.config.lease_seconds,
        )
        if not batch:
            return 0
        ids = sorted({c.broadcast_id for c in batch})
        info = await asyncio.to_thread(broadcast_texts, sessions=self.sessions, ids=ids)
        replies = {i: self.render(text) for i, (_status, text) in info.items()}
        for item in batch:
            if stop is not None and stop.is_set():
                break  # the rest is released by run()
            status = info.get(item.broadcast_id, (SENDING, ""))[0]
            if status != SENDING:
                await self._settle(item, DROPPED, reason="cancelled")
                continue
            await self._deliver(item, replies[item.broadcast_id])
        for broadcast_id in ids:
            finished = await asyncio.to_thread(finish_if_drained, sessions=self.sessions, broadcast_id=broadcast_id)
            if finished and self.on_finished is not None:
                try:
                    await self.on_finished(broadcast_id)
                except Exception:
                    log.exception("final report for broadcast %s failed", broadcast_id)
        return len(batch)

    async def _settle(self, item: Claimed, status: str, **kwargs: object) -> None:
        settled = await asyncio.to_thread(
            settle,
            sessions=self.sessions,
            delivery_id=item.id,
            token=self.token,
            status=status,
            **kwargs,  # type: ignore[arg-type]
        )
        if settled:  # a lost claim is settled (and counted) by the worker holding it now
            metrics.delivery(self.channel, status)

    async def _deliver(self, item: Claimed, reply: Reply) -> None:
        """Send one delivery and record what happened."""
        if self.eligibility is not None:
            reason = await self.eligibility(item.chat_id)
            if reason is not None:
                await self._settle(item, SKIPPED, reason=reason)
                return
        wait = self.limiter.chat_wait(item.chat_id)
        if wait > 0:  # this chat got a message a moment ago: come back to it later, keep the others moving
            later = utcnow() + dt.timedelta(seconds=wait)
            await self._settle(item, PENDING, attempts=item.attempts, not_before=later)
            return
        await self.limiter.acquire()
        try:
            await self.sender.send(item.chat_id, [reply])
        except RateLimited as err:
            self.limiter.throttle(err.retry_after)
            later = utcnow() + dt.timedelta(seconds=err.retry_after)
            await self._settle(item, PENDING, attempts=item.attempts, not_before=later, reason=err.reason)
            return
        except RecipientBlocked as err:
            self.limiter.sent_to(item.chat_id)
            await self._settle(item, BLOCKED, reason=err.reason, deactivate_user=item.user_id)
            return
        except PermanentError as err:
            await self._settle(item, FAILED, reason=err.reason, attempts=item.attempts + 1)
            return
        except AmbiguousError as err:  # it may have arrived: a retry could send the notice twice
            self.ambiguous += 1
            await self._settle(item, FAILED, reason=f"{UNCERTAIN}: {err.reason}", attempts=item.attempts + 1)
            return
        except DeliveryError as err:  # transient: network errors, 5xx
            await self._retry_or_fail(item, err.reason)
            return
        except Exception as err:  # an unexpected failure in the sender counts as transient
            log.exception("sender raised an unexpected error")
            await self._retry_or_fail(item, f"{type(err).__name__}: {err}")
            return
        self.limiter.sent_to(item.chat_id)
        self.limiter.success()
        self.sent += 1
        await self._settle(item, SENT)

    async def _retry_or_fail(self, item: Claimed, reason: str) -> None:
        attempts = item.attempts + 1
        if attempts >= self.config.max_attempts:
            await self._settle(item, FAILED, reason=reason, attempts=attempts)
            return
        delay = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempts - 1))
        later = utcnow() + dt.timedelta(seconds=delay)
        await self._settle(item, PENDING, reason=reason, attempts=attempts, not_before=later)
