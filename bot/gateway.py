"""The outbound gateway: one per channel, wrapping the channel's raw sender, used by replies and broadcasts.

Replies, broadcast deliveries, staff alerts and progress edits all leave a channel through its gateway, so the
channel has one rate budget and one error policy:

- **One budget, replies first.** Every API call takes a slot from the channel's :class:`Budget` (its rate,
  with a little headroom). Waiting replies always get the next slot before waiting broadcast deliveries, so a
  broadcast only uses what replies leave.
- **Per chat**: a chat's messages go out in order (one lock per chat); broadcast deliveries keep
  ``per_chat_interval`` after the chat's last message (the engine asks :meth:`OutboundGateway.chat_wait` and
  moves on to other chats); replies may burst, as Telegram allows, but wait out a chat's 429.
- **Replies are retried** within ``reply_deadline``: a 429 waits its ``retry_after`` (that chat only; the rate
  drops a little and wins it back on successes; several 429s at once pause the channel), 5xx and network
  errors back off exponentially with full jitter. Each part of a long reply is retried on its own, so a
  failure never repeats the parts already delivered. A reply that finally fails is logged with the chat and
  the reason and counted in ``troly_replies_failed_total``.
- **Broadcast deliveries get one attempt**; the engine retries them durably (rows in the database) and never
  retries an :class:`~bot.messages.AmbiguousError`, which may have been delivered.

The raw sender only talks to the channel's API: ``parts(chat_id, reply)`` gives one coroutine factory per API
call, each raising :mod:`bot.messages` delivery errors.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot import metrics
from bot.channel import Priority
from bot.messages import (
    DeliveryError,
    Part,
    PermanentError,
    RateLimited,
    RecipientBlocked,
    Reply,
    SentMessage,
    TransientError,
)
from bot.settings import Settings

log = logging.getLogger(__name__)


class RawSender(Protocol):
    """What a channel supplies: the API calls for one reply, no pacing, no retries."""

    channel: str

    def parts(self, chat_id: str, reply: Reply) -> list[Part]:
        """The API calls that deliver ``reply`` to ``chat_id``, in order."""
        ...


@dataclass(frozen=True)
class GatewayPolicy:
    """A channel's limits and retry policy."""

    rate: float = 30.0  # API calls per second for the whole channel; 0 = unlimited
    per_chat_interval: float = 1.0  # seconds between two calls to one chat
    headroom: float = 0.96  # pace just under the limit so jitter on the wire does not trip it
    reply_deadline: float = 60.0  # seconds a reply keeps being retried
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    burst_429: int = 3  # this many 429s within a second pause the whole channel

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayPolicy:
        """The policy for ``BROADCAST_RATE_PER_SECOND`` and ``BROADCAST_PER_CHAT_INTERVAL`` (one budget per channel)."""
        return cls(rate=settings.broadcast_rate_per_second, per_chat_interval=settings.broadcast_per_chat_interval)


class Budget:
    """Call slots at ``rate`` per second, handed out by priority (then arrival order)."""

    def __init__(self, rate: float, *, min_fraction: float = 0.3, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_rate = max(0.0, rate)
        self.rate = self.max_rate
        self.min_rate = self.max_rate * min_fraction
        self._clock = clock
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.Handle | None = None

    @property
    def unlimited(self) -> bool:
        """True when no rate is enforced."""
        return self.max_rate <= 0

    def waiting(self, priority: Priority | None = None) -> int:
        """How many callers wait for a slot (of ``priority`` when given)."""
        return sum(1 for p, _, f in self._waiting if not f.done() and (priority is None or p == priority))

    async def acquire(self, priority: Priority) -> None:
        """Wait for the next slot; higher-priority waiters are served first."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), future))
        self._schedule()
        await future

    def pause(self, seconds: float) -> None:
        """Hand out no slot for ``seconds``."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._schedule()

    def slow_down(self) -> None:
        """A 429: lower the rate by a tenth (not below ``min_fraction`` of the maximum)."""
        if not self.unlimited:
            self.rate = max(self.min_rate, self.rate * 0.9)

    def recover(self) -> None:
        """A success: win back a little of the rate lost to 429s."""
        if not self.unlimited and self.rate < self.max_rate:
            self.rate = min(self.max_rate, self.rate + self.max_rate * 0.002)

    def _schedule(self) -> None:
        if self._timer is not None or not self._waiting:
            return
        now = self._clock()
        start = max(now, self._paused_until, 0.0 if self.unlimited else self._next_slot)
        loop = asyncio.get_running_loop()
        if start <= now:
            self._timer = loop.call_soon(self._grant)
        else:
            self._timer = loop.call_later(start - now, self._grant)

    def _grant(self) -> None:
        self._timer = None
        now = self._clock()
        if now < self._paused_until:
            self._schedule()
            return
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if future.done():  # its caller was cancelled
                continue
            future.set_result(None)
            if not self.unlimited:
                interval = 1.0 / self.rate
                # a slot claimed a little late may use up to half of the one it missed, so short stalls on the
                # caller's side do not lower the sustained rate
                self._next_slot = max(now - interval / 2, self._next_slot) + interval
            break
        self._schedule()


class OutboundGateway:
    """Paces, orders and retries every message a channel sends; see the module docstring."""

    def __init__(
        self,
        raw: RawSender,
        policy: GatewayPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.raw = raw
        self.channel = raw.channel
        self.policy = policy or GatewayPolicy()
        self.budget = Budget(self.policy.rate * self.policy.headroom, clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._chat_next: dict[str, float] = {}  # last message + per_chat_interval (broadcasts keep to it)
        self._chat_hold: dict[str, float] = {}  # paused by a 429 until then (everyone waits)
        self._chat_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._recent_429: deque[float] = deque()
        self.retries = 0  # API calls repeated after an error (tests, benchmarks)
        self.failed = 0  # replies given up on

    # ----- per chat ----------------------------------------------------------------------------------------

    def chat_wait(self, chat_id: str, priority: Priority = Priority.BROADCAST) -> float:
        """Seconds until ``chat_id`` may receive the next message (0 when it may now).

        A reply waits only for a chat the channel paused with a 429 (chats take short bursts; a person
        waiting should not); a broadcast also keeps ``per_chat_interval`` after the chat's last message.
        """
        ready = self._chat_hold.get(chat_id, 0.0)
        if priority != Priority.REPLY:
            ready = max(ready, self._chat_next.get(chat_id, 0.0))
        return max(0.0, ready - self._clock())

    def _chat_sent(self, chat_id: str) -> None:
        now = self._clock()
        self._chat_next[chat_id] = now + self.policy.per_chat_interval
        if len(self._chat_next) > 50_000:  # forget idle chats to bound memory
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
            self._chat_hold = {c: t for c, t in self._chat_hold.items() if t > now}

    async def _lock(self, chat_id: str) -> asyncio.Lock:
        lock, users = self._chat_locks.get(chat_id, (asyncio.Lock(), 0))
        self._chat_locks[chat_id] = (lock, users + 1)
        return lock

    def _unlock(self, chat_id: str) -> None:
        lock, users = self._chat_locks[chat_id]
        if users <= 1:
            del self._chat_locks[chat_id]
        else:
            self._chat_locks[chat_id] = (lock, users - 1)

    # ----- sending -----------------------------------------------------------------------------------------

    async def send(
        self, chat_id: str, replies: Sequence[Reply], *, priority: Priority = Priority.REPLY
    ) -> list[SentMessage]:
        """Deliver ``replies`` to ``chat_id`` in order; raises the delivery error that ended it."""
        lock = await self._lock(chat_id)
        try:
            async with lock:
                sent: list[SentMessage] = []
                for reply in replies:
                    for part in self.raw.parts(chat_id, reply):
                        sent.extend(await self._call(chat_id, part, priority))
                return sent
        finally:
            self._unlock(chat_id)

    async def _call(self, chat_id: str, part: Part, priority: Priority) -> list[SentMessage]:
        deadline = self._clock() + self.policy.reply_deadline
        attempt = 0
        while True:
            wait = self.chat_wait(chat_id, priority)
            if wait > 0:
                await self._sleep(wait)
            await self.budget.acquire(priority)
            try:
                sent = await part()
            except RateLimited as err:
                self._rate_limited(chat_id, err.retry_after)
                if priority != Priority.REPLY:
                    raise
                if self._clock() + err.retry_after > deadline:
                    self._give_up(chat_id, err)
                    raise
            except (RecipientBlocked, PermanentError) as err:
                if priority == Priority.REPLY:
                    self._give_up(chat_id, err)
                raise
            except TransientError as err:
                if priority != Priority.REPLY:
                    raise
                attempt += 1
                delay = random.uniform(0, min(self.policy.backoff_max, self.policy.backoff_base * 2 ** attempt))
                if self._clock() + delay > deadline:
                    self._give_up(chat_id, err)
                    raise
                await self._sleep(delay)
            except DeliveryError as err:
                if priority == Priority.REPLY:
                    self._give_up(chat_id, err)
                raise
            else:
                self._chat_sent(chat_id)
                self.budget.recover()
                return sent
            self.retries += 1

    def _rate_limited(self, chat_id: str, retry_after: float) -> None:
        now = self._clock()
        self._chat_hold[chat_id] = now + retry_after
        self.budget.slow_down()
        self._recent_429.append(now)
        while self._recent_429 and now - self._recent_429[0] > 1.0:
            self._recent_429.popleft()
        if len(self._recent_429) >= self.policy.burst_429:  # many chats at once: the channel-wide limit
            self.budget.pause(retry_after)

    def _give_up(self, chat_id: str, err: DeliveryError) -> None:
        kind = "blocked" if isinstance(err, RecipientBlocked) else (
            "refused" if isinstance(err, PermanentError) else "gave_up"
        )
        self.failed += 1
        metrics.reply_failed(self.channel, kind)
        level = logging.INFO if kind == "blocked" else logging.WARNING
        log.log(level, "reply to %s chat %s not delivered (%s): %s", self.channel, chat_id, kind, err.reason)

    async def close(self) -> None:
        """Nothing runs in the background; kept so channels can stop their gateway uniformly."""


async def deliver_replies(
    gateway: OutboundGateway, chat_id: str, replies: Sequence[Reply], *, hold: tuple[type[DeliveryError], ...] = ()
) -> tuple[list[SentMessage], bool]:
    """Send an update's replies in order: what went out, and whether the update is done.

    A recipient who blocked the bot or a message refused for good ends the delivery (done: retrying cannot help);
    retries that ran out leave it not done, so the inbound log answers it again later. Errors in ``hold`` are
    raised to the caller (which deals with them) after what was sent so far.
    """
    sent: list[SentMessage] = []
    for reply in replies:
        try:
            sent.extend(await gateway.send(chat_id, [reply]))
        except hold:
            raise
        except (RecipientBlocked, PermanentError):  # logged and counted by the gateway
            break
        except DeliveryError:
            return sent, False
    return sent, True


class BroadcastPacing:
    """The broadcast engine's view of a gateway's pacing (the engine's ``RateLimiter`` interface).

    The gateway already takes a budget slot, spaces calls per chat and reacts to 429s inside ``send``; the
    engine only needs to know when a chat is busy so it can move on to other chats.
    """

    def __init__(self, gateway: OutboundGateway) -> None:
        self.gateway = gateway

    async def acquire(self) -> None:
        """Nothing to wait for here: the gateway takes the slot (after any waiting reply)."""

    def chat_wait(self, chat_id: str) -> float:
        """Seconds until ``chat_id`` may receive the next message."""
        return self.gateway.chat_wait(chat_id)

    def sent_to(self, chat_id: str) -> None:
        """Recorded by the gateway."""

    def throttle(self, retry_after: float) -> None:
        """Handled by the gateway."""

    def success(self) -> None:
        """Handled by the gateway."""


class BroadcastSender:
    """A gateway seen as the engine's ``Sender``: every call at broadcast priority (one attempt)."""

    def __init__(self, gateway: OutboundGateway) -> None:
        self.gateway = gateway
        self.channel = gateway.channel

    async def send(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        """Deliver a notice to ``chat_id`` with whatever budget replies leave."""
        return await self.gateway.send(chat_id, replies, priority=Priority.BROADCAST)
