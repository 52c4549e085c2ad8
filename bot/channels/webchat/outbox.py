"""Replies waiting for a web chat visitor: a bounded in-memory queue per visitor, with increasing ids.

Ids come from the wall clock in microseconds (never less than the previous id plus one), so they keep
increasing across restarts: a widget asking for what follows its last id never misses newer replies. A
visitor's queue keeps the last ``per_visitor`` messages; visitors idle for ``idle_seconds`` are forgotten, and
at most ``max_visitors`` are kept (the longest idle go first), so memory stays bounded on the open web.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Queued:
    """One queued reply: its id and the JSON-ready payload the widget renders."""

    id: int
    payload: dict[str, Any]


class Outbox:
    """Per-visitor queues of rendered replies."""

    def __init__(
        self,
        *,
        per_visitor: int = 100,
        max_visitors: int = 20_000,
        idle_seconds: float = 6 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_visitor = per_visitor
        self.max_visitors = max_visitors
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._last_id = 0
        self._queues: OrderedDict[str, tuple[float, deque[Queued]]] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        return len(self._queues)

    def _next_id(self) -> int:
        self._last_id = max(self._last_id + 1, int(self._clock() * 1_000_000))
        return self._last_id

    def put(self, visitor: str, payloads: list[dict[str, Any]]) -> list[int]:
        """Queue ``payloads`` for ``visitor`` in order; returns their ids."""
        _, queue = self._queues.pop(visitor, (0.0, deque(maxlen=self.per_visitor)))
        ids: list[int] = []
        for payload in payloads:
            item = Queued(self._next_id(), payload)
            queue.append(item)
            ids.append(item.id)
        self._queues[visitor] = (self._clock(), queue)
        while len(self._queues) > self.max_visitors:
            self._queues.popitem(last=False)
        return ids

    def after(self, visitor: str, last_id: int) -> list[Queued]:
        """What was queued for ``visitor`` after ``last_id`` (oldest first); marks the visitor active."""
        entry = self._queues.get(visitor)
        if entry is None:
            return []
        self._queues.move_to_end(visitor)
        self._queues[visitor] = (self._clock(), entry[1])
        return [item for item in entry[1] if item.id > last_id]

    def latest(self, visitor: str) -> int:
        """The id of the newest message queued for ``visitor`` (0 when none)."""
        entry = self._queues.get(visitor)
        return entry[1][-1].id if entry and entry[1] else 0

    def forget(self, visitor: str) -> None:
        """Drop everything queued for ``visitor``."""
        self._queues.pop(visitor, None)

    def prune(self) -> int:
        """Forget visitors idle for longer than ``idle_seconds``; returns how many."""
        cutoff = self._clock() - self.idle_seconds
        stale = [v for v, (seen, _) in self._queues.items() if seen < cutoff]
        for visitor in stale:
            del self._queues[visitor]
        return len(stale)
