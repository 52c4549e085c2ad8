"""The channel contract: what every channel (terminal aside) gives the bot, and what the bot gives it.

A channel is one package under ``bot/channels/`` plus one line in ``bot/channels/registry.py``. The core never
imports a channel; it sees only these shapes:

``Channel`` (a protocol; each channel implements it)
    ``name``
        ``"telegram"``, ``"zalo"``, …: the value of ``IncomingMessage.channel`` and of ``users.channel``.
    ``gateway``
        its outbound :class:`Gateway`: ``await gateway.send(chat_id, replies, priority=…)``. Replies to
        citizens, broadcast deliveries, staff alerts and progress edits all go through it, so the channel has
        one rate budget and one error policy.
    ``routes()``
        its Starlette routes on the bot's one HTTP server (webhooks, widget files, small APIs).
    ``await start()`` / ``await stop()``
        long-running work: polling loops, token upkeep, background tasks. ``start`` runs once the HTTP server
        listens (so a webhook can be registered), and its routes may be called before ``start`` returns: they
        queue or wait; ``stop`` runs after the server stopped.
    ``await eligibility(chat_id)``
        ``None`` when a broadcast may reach ``chat_id`` now, else the skip reason staff see (Zalo's 48-hour
        window).
    ``secrets()``
        values to redact from every log line (derived webhook secrets; settings' secrets are redacted anyway).

    Optional: ``await open_outbound()`` / ``await close_outbound()`` make the gateway usable without starting
    the inbound side (``python -m bot broadcast send --deliver`` delivers from a second process).

    Tables a channel needs are plain SQLAlchemy models on the shared metadata (``bot.storage.models.Base``)
    with their own Alembic revision.

``ChannelHost`` (what the composition root hands to a channel's ``build``)
    ``services`` (database, knowledge, broadcast service…), ``handle(msg) -> list[Reply]`` (the routing table;
    a channel converts its updates to :class:`~bot.messages.IncomingMessage` and calls it), and
    ``alert_staff(text)`` (tells every reachable staff member, e.g. when a channel's token is refused).

Priorities: :data:`REPLY` (an answer a citizen is waiting for, a staff member's edit) always goes before
:data:`BROADCAST` (a notice delivery), which only uses what replies leave of the channel's rate budget.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from starlette.routing import BaseRoute

from bot.messages import IncomingMessage, Reply, SentMessage


class Priority(enum.IntEnum):
    """Who is waiting for a message; lower goes first."""

    REPLY = 0  # a person is waiting: answers, staff edits and alerts
    BROADCAST = 1  # notice deliveries: only what replies leave of the budget


REPLY = Priority.REPLY
BROADCAST = Priority.BROADCAST

Handle = Callable[[IncomingMessage], Awaitable[list[Reply]]]
AlertStaff = Callable[[str], Awaitable[None]]


class Gateway(Protocol):
    """A channel's one way out: sends replies to a chat, in order, within the channel's rate budget."""

    channel: str

    async def send(
        self, chat_id: str, replies: Sequence[Reply], *, priority: Priority = Priority.REPLY
    ) -> list[SentMessage]:
        """Deliver ``replies`` to ``chat_id`` in order; raises :class:`~bot.messages.DeliveryError` when it cannot."""
        ...


@runtime_checkable
class Channel(Protocol):
    """One messaging channel as the composition root runs it."""

    name: str

    @property
    def gateway(self) -> Gateway:
        """The channel's outbound gateway."""
        ...

    def routes(self) -> list[BaseRoute]:
        """Routes for the shared HTTP server."""
        ...

    async def start(self) -> None:
        """Start polling loops and background work (the HTTP server already listens)."""
        ...

    async def stop(self) -> None:
        """Stop everything :meth:`start` started (after the HTTP server stopped)."""
        ...

    async def eligibility(self, chat_id: str) -> str | None:
        """None when a broadcast may go to ``chat_id`` now, else the reason it is skipped."""
        ...

    def secrets(self) -> list[str]:
        """Values to redact from the logs."""
        ...


@dataclass
class ChannelHost:
    """What the composition root gives a channel when building it.

    ``options`` carries per-channel tuning that tests and benchmarks pass (for example
    ``{"telegram": {"concurrent_updates": 16}}``); production runs leave it empty.
    """

    services: Any
    handle: Handle
    alert_staff: AlertStaff
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def option(self, channel: str, name: str, default: Any = None) -> Any:
        """The tuning value ``name`` for ``channel``, or ``default``."""
        return self.options.get(channel, {}).get(name, default)
