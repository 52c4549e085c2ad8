"""The Messenger channel: a ward's Facebook fanpage, on the same handlers as every other channel.

``MessengerChannel`` gives the HTTP server the webhook routes (handshake + signed events), records each event in
the inbound log before the webhook answers 200 (a message id seen before is dropped, unless its reply never went
out), processes it in the background (each citizen's events in arrival order, with the typing indicator on while
the answer is found) and delivers the replies through its gateway; an event is marked done only once answered.

Announcements follow Messenger's standard messaging policy: a page may message a person freely within 24 hours
of that person's last message; outside it only with a message tag, and no tag covers a ward's general notices
(tags are for personal account, event or purchase updates and human-agent replies). So a notice goes to those
who wrote in the last 24 hours, and the others are recorded as skipped with the reason staff read in the report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import json
import logging
from typing import Any

from sqlalchemy import select
from starlette.routing import BaseRoute

from bot.channel import ChannelHost
from bot.channels.messenger.api import CHANNEL, GraphApi, MessengerSender, MessengerTokenError
from bot.channels.messenger.webhook import MessengerEventIn, messenger_webhook_routes
from bot.gateway import GatewayPolicy, OutboundGateway, deliver_replies
from bot.inbound import InboundLog, Pending, apology, recovery_loop
from bot.messages import IncomingMessage, Reply, SentMessage
from bot.settings import Settings
from bot.storage.models import User
from bot.tasks import cancel_and_wait
from handlers import texts

log = logging.getLogger(__name__)

STANDARD_WINDOW = dt.timedelta(hours=24)  # Messenger's standard messaging window after the person's last message


def to_incoming(event: MessengerEventIn) -> IncomingMessage:
    """The plain message for one event: a tapped quick reply or postback becomes ``button_data``."""
    if event.payload is not None:
        return IncomingMessage(channel=CHANNEL, user_id=event.sender_id, chat_id=event.sender_id,
                               button_data=event.payload, message_id=event.mid)
    return IncomingMessage(channel=CHANNEL, user_id=event.sender_id, chat_id=event.sender_id, text=event.text,
                           message_id=event.mid)


class MessengerChannel:
    """Processes Messenger webhook events with the shared handlers and delivers the replies."""

    name = CHANNEL

    def __init__(self, settings: Settings, host: ChannelHost) -> None:
        token = settings.messenger_page_access_token
        if token is None:
            raise ValueError("MESSENGER_PAGE_ACCESS_TOKEN is not set")
        self.settings = settings
        self.host = host
        self.services = host.services
        secret = settings.messenger_app_secret
        verify = settings.messenger_verify_token
        self.app_secret = secret.get_secret_value() if secret is not None else ""
        self.verify_token = verify.get_secret_value() if verify is not None else ""
        self.api = GraphApi(base_url=settings.messenger_api_base_url, page_token=token.get_secret_value())
        self._gateway = OutboundGateway(MessengerSender(self.api), GatewayPolicy.from_settings(settings))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._chains: dict[str, asyncio.Task[Any]] = {}
        self._token_alerted = False
        self.inbound = InboundLog.for_channel(self.services, settings, CHANNEL)
        self._recovery: asyncio.Task[None] | None = None

    # ----- the channel contract ----------------------------------------------------------------------------

    @property
    def gateway(self) -> OutboundGateway:
        """Every message to Messenger leaves through this gateway."""
        return self._gateway

    def routes(self) -> list[BaseRoute]:
        """The webhook routes for the bot's HTTP server."""
        if not self.app_secret:
            log.error("MESSENGER_APP_SECRET is not set: every Messenger webhook call will be refused")
        if not self.verify_token:
            log.error("MESSENGER_VERIFY_TOKEN is not set: the webhook subscription cannot be verified")
        return list(messenger_webhook_routes(self.submit, app_secret=self.app_secret, verify_token=self.verify_token))

    async def start(self) -> None:
        """Answer what an earlier run left unanswered, now and every few seconds (the page token does not expire)."""
        self._recovery = asyncio.create_task(
            recovery_loop(self.inbound, self._replay, apology(self._send_late)), name="messenger-inbound-recovery"
        )
        log.info("Messenger channel ready (webhook on /messenger/webhook)")

    async def stop(self) -> None:
        """Stop the recovery loop, let in-flight events finish (briefly) and close the HTTP client."""
        await cancel_and_wait(self._recovery)
        self._recovery = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        await self._gateway.close()
        await self.api.aclose()

    async def eligibility(self, chat_id: str) -> str | None:
        """The reason a notice may not go to ``chat_id`` now (outside the 24-hour window), or None."""
        seen = await asyncio.to_thread(self._last_message, chat_id)
        if seen is None or self.services.clock() - seen > STANDARD_WINDOW:
            return texts.MESSENGER_SKIPPED_OUTSIDE_WINDOW
        return None

    def secrets(self) -> list[str]:
        """Nothing beyond the settings' secrets (the page token is one)."""
        return []

    # ----- events ------------------------------------------------------------------------------------------

    async def submit(self, events: list[MessengerEventIn]) -> None:
        """Record ``events`` (before the webhook answers 200), then answer them in the background, in order per
        citizen; an event seen before (already answered, or in hand) is dropped."""
        loop = asyncio.get_running_loop()
        for event in events:
            if not await self.claim(event):
                continue
            previous = self._chains.get(event.sender_id)
            task = loop.create_task(self._after(previous, event), name="messenger-event")
            self._chains[event.sender_id] = task
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._done, sender=event.sender_id))

    async def claim(self, event: MessengerEventIn) -> bool:
        """Record ``event``; False when it was seen before."""
        payload = json.dumps(dataclasses.asdict(event), ensure_ascii=False)
        try:
            first = await asyncio.to_thread(self.inbound.claim, event.key, payload, event.sender_id)
        except Exception:  # the database is down: answering beats refusing
            log.exception("could not record a Messenger event; answering it anyway")
            return True
        if not first:
            log.info("Messenger event arrived again; already answered or being answered")
        return first

    def _done(self, task: asyncio.Task[Any], sender: str) -> None:
        self._tasks.discard(task)
        if self._chains.get(sender) is task:
            del self._chains[sender]

    async def _after(self, previous: asyncio.Task[Any] | None, event: MessengerEventIn) -> list[SentMessage]:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            return await self.answer(event)
        except Exception:
            log.exception("error while handling a Messenger event")
            return []

    async def drain(self) -> None:
        """Wait until every submitted event is processed (tests)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def process(self, event: MessengerEventIn) -> list[SentMessage]:
        """Handle one event, once: the handlers' replies go back to the citizen."""
        if not await self.claim(event):
            return []
        return await self.answer(event)

    async def answer(self, event: MessengerEventIn) -> list[SentMessage]:
        """Answer a claimed event; it is marked done once the replies went out (or were refused for good)."""
        msg = to_incoming(event)
        await self.api.typing_on(event.sender_id)
        try:
            replies = await self.host.handle(msg)
        except Exception:
            log.exception("handler failed on a Messenger message")
            replies = [Reply(text=texts.ERROR)]
        sent, complete = await self._deliver(msg.chat_id, replies)
        if complete:
            await asyncio.to_thread(self.inbound.finish, event.key)
        return sent

    async def _replay(self, pending: Pending) -> None:
        await self.answer(MessengerEventIn(**json.loads(pending.payload)))

    async def _send_late(self, chat_id: str) -> None:
        await self._gateway.send(chat_id, [Reply(text=texts.INBOUND_LATE)])

    async def deliver(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        """Send replies in order; a person who cannot be reached or a refused message is logged, not raised."""
        return (await self._deliver(chat_id, replies))[0]

    async def _deliver(self, chat_id: str, replies: list[Reply]) -> tuple[list[SentMessage], bool]:
        """What was sent, and whether the event is done (False when retries ran out: answered again later)."""
        try:
            return await deliver_replies(self._gateway, chat_id, replies, hold=(MessengerTokenError,))
        except MessengerTokenError as err:
            await self._alert_token(err)
            return [], False

    async def _alert_token(self, err: MessengerTokenError) -> None:
        """The page token was refused: tell staff once per process (every send fails until it is replaced)."""
        log.error("Messenger refused the page access token: %s", err.reason)
        if not self._token_alerted:
            self._token_alerted = True
            await self.host.alert_staff(texts.MESSENGER_TOKEN_REFUSED.format(reason=err.reason))

    def _last_message(self, psid: str) -> dt.datetime | None:
        with self.services.sessions() as session:
            seen: dt.datetime | None = session.scalar(
                select(User.last_seen).where(User.channel == CHANNEL, User.external_id == psid)
            )
        return seen
