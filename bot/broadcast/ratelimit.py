"""Async pacing for one channel: a global token bucket (burst 1) plus a minimum interval per chat.

On a 429 the whole channel pauses for ``retry_after`` and the rate drops by a tenth; every success wins a
little of it back, never above the configured rate. ``headroom`` keeps the pace just under the limit so
jitter on the wire does not trip the server's sliding window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``rate`` messages per second overall and one per ``per_chat_interval`` seconds per chat."""

    def __init__(
        self,
        rate: float,
        per_chat_interval: float = 1.0,
        *,
        headroom: float = 0.96,
        min_fraction: float = 0.3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_rate = max(0.0, rate) * headroom if rate > 0 else 0.0
        self.rate = self.max_rate
        self.min_rate = self.max_rate * min_fraction
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_last: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self.throttled = 0  # how many 429s were seen

    @property
    def unlimited(self) -> bool:
        """True when no global rate is enforced (``rate <= 0``)."""
        return self.max_rate <= 0

    async def acquire(self) -> None:
        """Wait for the next global sending slot."""
        async with self._lock:
            while True:
                now = self._clock()
                start = max(now, self._paused_until, self._next_slot if not self.unlimited else 0.0)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
            if not self.unlimited:
                # a worker that arrives a little late may use up to half of the slot it missed, so short
                # stalls (a database write, a batch claim) do not lower the sustained rate
                interval = 1.0 / self.rate
                self._next_slot = max(now - interval / 2, self._next_slot) + interval

    def chat_wait(self, chat_id: str) -> float:
        """Seconds until ``chat_id`` may receive another message (0 when it may now)."""
        last = self._chat_last.get(chat_id)
        if last is None or self.per_chat_interval <= 0:
            return 0.0
        return max(0.0, last + self.per_chat_interval - self._clock())

    def sent_to(self, chat_id: str) -> None:
        """Record a message to ``chat_id`` (also forgets chats idle for long, to bound memory)."""
        now = self._clock()
        self._chat_last[chat_id] = now
        if len(self._chat_last) > 50_000:
            horizon = now - self.per_chat_interval
            self._chat_last = {c: t for c, t in self._chat_last.items() if t > horizon}

    def throttle(self, retry_after: float) -> None:
        """The channel answered 429: pause everything for ``retry_after`` seconds and slow down."""
        self.throttled += 1
        self._paused_until = max(self._paused_until, self._clock() + max(retry_after, 0.05))
        if not self.unlimited:
            self.rate = max(self.min_rate, self.rate * 0.9)

    def success(self) -> None:
        """A message went through: win back a little of the rate lost to 429s."""
        if not self.unlimited and self.rate < self.max_rate:
            self.rate = min(self.max_rate, self.rate + self.max_rate * 0.002)
