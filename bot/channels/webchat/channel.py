"""The web chat channel: the widget's messages → plain messages → the shared handlers → the visitor's queue.

Replies are rendered once (blocks and buttons as JSON) and queued in the :class:`Outbox` (a database table);
the widget fetches them. The gateway is the same queue, so anything sent to a visitor lands there.
Announcements are not sent here: a web page cannot be reached once it is closed, so every visitor is skipped
with a reason staff see, and ``/dangky`` is not offered to web visitors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute

from bot.channel import ChannelHost, Priority
from bot.channels.webchat.api import REPLIES, WebChatApi
from bot.channels.webchat.limits import RateLimiter
from bot.channels.webchat.outbox import Outbox
from bot.channels.webchat.render import to_blocks
from bot.inbound import InboundLog, Pending, recovery_loop
from bot.messages import IncomingMessage, Reply, SentMessage
from bot.settings import Settings
from bot.tasks import cancel_and_wait
from handlers import texts

log = logging.getLogger(__name__)

CHANNEL = "webchat"
PRUNE_SECONDS = 300.0


def reply_payload(reply: Reply) -> dict[str, Any]:
    """One reply as the widget renders it: text blocks and rows of buttons (data or link)."""
    rows = []
    for row in reply.buttons:
        out = []
        for b in row:
            if b.url is not None:
                out.append({"label": b.label, "url": b.url})
            elif b.data is not None:
                out.append({"label": b.label, "data": b.data})
        if out:
            rows.append(out)
    return {"blocks": to_blocks(reply.text), "buttons": rows}


class WebChatGateway:
    """The channel's outbound path: queue replies for a visitor (``chat_id`` is the visitor's stored id)."""

    channel = CHANNEL

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def send(
        self, chat_id: str, replies: Sequence[Reply], *, priority: Priority = Priority.REPLY
    ) -> list[SentMessage]:
        """Queue ``replies`` in order; the widget picks them up on its next fetch."""
        ids = await asyncio.to_thread(self.outbox.put, chat_id, [reply_payload(r) for r in replies])
        REPLIES.inc(len(ids))
        return [SentMessage(message_id=str(i)) for i in ids]


class WebChatChannel:
    """The web chat: its routes on the bot's HTTP server, its gateway, and its (absent) announcement delivery."""

    name = CHANNEL

    def __init__(self, settings: Settings, host: ChannelHost) -> None:
        self.settings = settings
        self.host = host
        self.outbox = Outbox(sessions=host.services.sessions, clock=host.services.clock)
        self._gateway = WebChatGateway(self.outbox)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._pruner: asyncio.Task[None] | None = None
        self.inbound = InboundLog.for_channel(host.services, settings, CHANNEL)
        self._recovery: asyncio.Task[None] | None = None
        self.api = WebChatApi(
            outbox=self.outbox,
            process=self.process,
            allowed_origins=settings.webchat_allowed_origins,
            ui_texts=texts.WEBCHAT_UI,
            visitor_limit=RateLimiter(limit=settings.webchat_visitor_messages_per_minute),
            ip_limit=RateLimiter(limit=settings.webchat_ip_requests_per_minute),
            proxy_hops=settings.webchat_proxy_hops,
        )

    @property
    def gateway(self) -> WebChatGateway:
        """The visitor queues, as the channel's outbound gateway."""
        return self._gateway

    def routes(self) -> list[BaseRoute]:
        """``/widget.js``, ``/widget.css``, ``/demo`` and the chat API."""
        return self.api.routes()

    def secrets(self) -> list[str]:
        """Nothing secret: the web chat has no token."""
        return []

    async def start(self) -> None:
        """Start forgetting idle visitors' queues."""
        if not self.settings.webchat_allowed_origins:
            log.warning("WEBCHAT_ALLOWED_ORIGINS is empty: the widget works only on the bot's own /demo page")
        self._pruner = asyncio.create_task(self._prune_loop(), name="webchat-prune")
        self._recovery = asyncio.create_task(
            recovery_loop(self.inbound, self._replay, self._apologize), name="webchat-inbound-recovery"
        )
        log.info("web chat ready (/widget.js, /demo)")

    async def stop(self) -> None:
        """Stop the pruning and recovery tasks."""
        await cancel_and_wait(self._pruner, self._recovery)
        self._pruner = self._recovery = None

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_SECONDS)
            try:
                await asyncio.to_thread(self.outbox.prune)
            except Exception:
                log.exception("pruning the web chat queues failed")

    async def eligibility(self, chat_id: str) -> str | None:
        """Announcements never go to web visitors: the page may be long closed."""
        return texts.WEBCHAT_SKIPPED_NO_PUSH

    async def process(self, visitor: str, text: str | None, button: str | None, mid: str | None = None) -> None:
        """Run one typed message or button press through the handlers and queue the replies, in order per visitor.

        The message is first recorded in the inbound log under the widget's message id ``mid``: a retry after a
        lost response is not answered twice, and a message whose process died is answered by another one."""
        key = f"{visitor}:{mid or secrets.token_hex(10)}"
        payload = json.dumps({"visitor": visitor, "text": text, "button": button}, ensure_ascii=False)
        lock, users = self._locks.get(visitor, (asyncio.Lock(), 0))
        self._locks[visitor] = (lock, users + 1)
        try:
            async with lock:
                if not await asyncio.to_thread(self.inbound.claim, key, payload, visitor):
                    log.debug("web chat message sent again after a lost response; already answered")
                    return
                await self._answer(key, visitor, text, button)
        finally:
            lock, users = self._locks[visitor]
            if users <= 1:
                del self._locks[visitor]
            else:
                self._locks[visitor] = (lock, users - 1)

    async def _answer(self, key: str, visitor: str, text: str | None, button: str | None) -> None:
        msg = IncomingMessage(
            channel=CHANNEL, user_id=visitor, chat_id=visitor, text=text, button_data=button, receives_notices=False,
        )  # fmt: skip
        try:
            replies = await self.host.handle(msg)
        except Exception:
            log.exception("handler failed on a web chat message")
            replies = [Reply(text=texts.ERROR)]
        await self._gateway.send(visitor, replies)
        await asyncio.to_thread(self.inbound.finish, key)

    async def _replay(self, pending: Pending) -> None:
        """Answer a message whose process died before answering it (the widget shows it on its next fetch)."""
        data = json.loads(pending.payload)
        await self._answer(pending.key, str(data["visitor"]), data.get("text"), data.get("button"))

    async def _apologize(self, pending: Pending) -> None:
        """Too late for an answer: say so, so the visitor asks again."""
        if pending.chat_id:
            await self._gateway.send(pending.chat_id, [Reply(text=texts.INBOUND_LATE)])
