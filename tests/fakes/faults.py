"""Fault injection shared by the fake Bot API and the fake Zalo API: what can go wrong with one send.

Faults are scripted (``script("429", "reset_after")`` applies to the next sends, in order) or drawn from a
seeded mix (``mix = {"500": 0.05, ...}``). Kinds:

- ``429``: a rate-limit answer with ``retry_after``; ``500``: an internal error answer (nothing sent);
- ``reset_before``: the connection drops and nothing was sent; ``reset_after``: the message was delivered,
  then the connection dropped before the answer (both look the same to the client: an ambiguous failure);
- ``slow``: the answer comes after ``slow_seconds`` (the message is delivered).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from typing import Any

from starlette.responses import Response

KINDS = ("429", "500", "reset_before", "reset_after", "slow")


class Faults:
    """Which fault (if any) the next send gets; counts what was injected."""

    def __init__(self, *, seed: int = 7) -> None:
        self.scripted: deque[str] = deque()
        self.mix: dict[str, float] = {}
        self.retry_after = 1
        self.slow_seconds = 6.0
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)

    def script(self, *kinds: str) -> None:
        """Inject ``kinds`` into the next sends, one each, in order."""
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown fault {kind!r}")
            self.scripted.append(kind)

    def next(self) -> str | None:
        """The fault for the send being answered now, or None."""
        kind: str | None = None
        if self.scripted:
            kind = self.scripted.popleft()
        elif self.mix:
            draw = self._rng.random()
            for name, share in self.mix.items():
                if draw < share:
                    kind = name
                    break
                draw -= share
        if kind is not None:
            self.injected[kind] += 1
        return kind


class BrokenResponse(Response):
    """Starts a 200 answer and drops the connection before its body: the client cannot tell what happened."""

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})
        await send({"type": "http.response.body", "body": b'{"ok": tr', "more_body": True})
        # returning with the body incomplete makes the server close the connection
