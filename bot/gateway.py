"""The outbound gateway: one per channel, wrapping the channel's raw sender.

Replies, broadcast deliveries, staff alerts and progress edits all leave a channel through its gateway, so the
channel has one rate budget and one error policy. The raw sender (``send_reply(chat_id, reply)``) only talks to
the channel's API and maps its failures to :mod:`bot.messages` delivery errors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot.channel import Priority
from bot.messages import Reply, SentMessage

log = logging.getLogger(__name__)


class RawSender(Protocol):
    """What a channel supplies: one reply to one chat, no retries, delivery errors raised."""

    channel: str

    async def send_reply(self, chat_id: str, reply: Reply) -> list[SentMessage]:
        """Send one reply (possibly as several messages)."""
        ...


class OutboundGateway:
    """Sends replies through ``raw`` in order."""

    def __init__(self, raw: RawSender) -> None:
        self.raw = raw
        self.channel = raw.channel

    async def send(
        self, chat_id: str, replies: Sequence[Reply], *, priority: Priority = Priority.REPLY
    ) -> list[SentMessage]:
        """Deliver ``replies`` to ``chat_id`` in order; raises the first delivery error."""
        sent: list[SentMessage] = []
        for reply in replies:
            sent.extend(await self.raw.send_reply(chat_id, reply))
        return sent

    async def close(self) -> None:
        """Stop background work (nothing to stop yet)."""
