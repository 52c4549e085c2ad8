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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Integer, Table, Update, and_, bindparam, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.broadcast.models import (
    BLOCKED,
    CLAIMED,
    DROPPED,
    FAILED,
    OPEN_PREDICATE_SQL,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    Broadcast,
    Delivery,
)
from bot.broadcast.service import finish_if_drained
from bot.messages import AmbiguousError, DeliveryError, PermanentError, RateLimited, RecipientBlocked, Reply, Sender
from bot.storage.db import run_single
from bot.storage.models import User, UTCDateTime, utcnow

log = logging.getLogger(__name__)

Sessions = sessionmaker[Session]
Render = Callable[[str], Reply]  # notice text → the reply citizens see
Eligibility = Callable[[str], Awaitable[str | None]]  # chat id → reason to skip, or None to send
Finished = Callable[[int], Awaitable[None]]  # called once by the worker that completes a broadcast
UNCERTAIN = "uncertain, not retried"  # reason prefix of a delivery whose answer was lost (it may have arrived)
FULL_PASS_SECONDS = 2.0  # how often a worker claims from the lowest id again (rows retried after a delay)


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


def _claim_statement(dialect: str) -> Update:
    """The claim as one Core ``UPDATE … WHERE id IN (open, due rows in id order) RETURNING``, built once per
    dialect: the ORM's per-call overhead was ten times the database's own time for this statement."""
    table = cast(Table, Delivery.__table__)
    broadcasts = cast(Table, Broadcast.__table__)
    now = bindparam("b_now", type_=UTCDateTime())
    due = or_(
        and_(table.c.status == PENDING, or_(table.c.not_before.is_(None), table.c.not_before <= now)),
        and_(table.c.status == CLAIMED, table.c.claimed_until < now),
    )
    candidates = (
        select(table.c.id)
        .where(
            text(OPEN_PREDICATE_SQL),
            table.c.channel == bindparam("b_channel"),
            table.c.id > bindparam("b_after", type_=Integer),
            due,
            table.c.broadcast_id.in_(select(broadcasts.c.id).where(broadcasts.c.status == SENDING)),
        )
        .order_by(table.c.id)
        .limit(bindparam("b_limit", type_=Integer))
    )
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        update(table)
        .where(table.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=CLAIMED, claim_token=bindparam("b_token"), claimed_until=bindparam("b_until", type_=UTCDateTime())
        )
        .returning(table.c.id, table.c.broadcast_id, table.c.user_id, table.c.chat_id, table.c.attempts)
    )


_CLAIMS: dict[str, Update] = {}


def claim_batch(
    *,
    sessions: Sessions,
    channel: str,
    token: str,
    limit: int,
    lease_seconds: float,
    now: dt.datetime | None = None,
    after: int = 0,
) -> list[Claimed]:
    """Claim up to ``limit`` deliveries due now (or whose lease expired) on ``channel`` for ``token``, with ids
    above ``after`` (0: all).

    The literal open-status predicate lets both databases walk only the partial index of open deliveries
    (``ix_deliveries_open``), never the history of sent rows.
    """
    now = now or utcnow()
    bind = sessions.kw["bind"]
    dialect = bind.dialect.name
    statement = _CLAIMS.get(dialect)
    if statement is None:
        statement = _CLAIMS[dialect] = _claim_statement(dialect)
    params = {
        "b_now": now,
        "b_channel": channel,
        "b_after": after,
        "b_limit": limit,
        "b_token": token,
        "b_until": now + dt.timedelta(seconds=lease_seconds),
    }
    # One statement, atomic by itself (row locks with SKIP LOCKED on PostgreSQL, the write lock on SQLite):
    # run_single sends it alone, in autocommit, instead of between BEGIN and COMMIT.
    _, rows = run_single(sessions, statement, params)
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


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
    statement = update(Delivery).where(Delivery.id == delivery_id, Delivery.claim_token == token).values(**values)
    if deactivate_user is None:  # the common case: one statement, one round trip
        return run_single(sessions, statement)[0] == 1
    with sessions.begin() as session:
        result = session.execute(statement)
        session.execute(update(User).where(User.id == deactivate_user).values(is_active=False))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_claims(*, sessions: Sessions, token: str) -> int:
    """Give back every delivery still claimed by ``token`` (a worker stopping cleanly)."""
    statement = (
        update(Delivery)
        .where(text(OPEN_PREDICATE_SQL), Delivery.claim_token == token, Delivery.status == CLAIMED)
        .values(status=PENDING, claim_token=None, claimed_until=None)
    )
    return run_single(sessions, statement)[0]


def recover_stale_claims(*, sessions: Sessions, channel: str) -> int:
    """Return every claimed row of ``channel`` to pending: only safe when this is the only worker (SQLite)."""
    statement = (
        update(Delivery)
        .where(text(OPEN_PREDICATE_SQL), Delivery.channel == channel, Delivery.status == CLAIMED)
        .values(status=PENDING, claim_token=None, claimed_until=None)
    )
    return run_single(sessions, statement)[0]


def broadcast_texts(*, sessions: Sessions, ids: list[int]) -> dict[int, tuple[str, str]]:
    """(status, text) of the given broadcasts."""
    _, rows = run_single(sessions, select(Broadcast.id, Broadcast.status, Broadcast.text).where(Broadcast.id.in_(ids)))
    return {row[0]: (row[1], row[2]) for row in rows}


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
        # On PostgreSQL a sent row leaves a dead entry in the partial index until vacuum; walking from the lowest
        # id would step over all of them on every claim. Claims continue after the last claimed id, with a full
        # pass now and then (and when the cursor finds nothing) for rows put back with a delay.
        self._cursor = 0
        self._full_pass_at = 0.0
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
        now = time.monotonic()
        full = self._cursor == 0 or now - self._full_pass_at >= FULL_PASS_SECONDS
        batch = await self._claim(0 if full else self._cursor)
        if not batch and not full:
            full = True
            batch = await self._claim(0)
        if full:
            self._full_pass_at = now
        if batch:
            self._cursor = max(self._cursor, max(c.id for c in batch))
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

    async def _claim(self, after: int) -> list[Claimed]:
        return await asyncio.to_thread(
            claim_batch,
            sessions=self.sessions,
            channel=self.channel,
            token=self.token,
            limit=self.config.batch_size,
            lease_seconds=self.config.lease_seconds,
            after=after,
        )

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
