"""The Zalo channel: webhook events → plain messages → the shared handlers → Zalo messages.

``ZaloChannel`` owns the token manager, the API client and the sender, gives the HTTP server its webhook
route, and processes each accepted event in the background (one event per user at a time, in arrival
order). Every event is first recorded in ``zalo_events`` under its ``msg_id``: a retried event finds its key
taken and is dropped, so nobody gets the same answer twice, even across instances and restarts.

It also supplies the broadcast engine's eligibility rule: Zalo lets an OA send free customer-service
messages only to users who interacted within the last 48 hours; the others are recorded as skipped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute

from bot.channel import ChannelHost
from bot.channels.zalo.api import CHANNEL, QUERY_PREFIX, ZaloApi, ZaloSender
from bot.channels.zalo.tokens import RefreshFailed, TokenRefused, ZaloTokens
from bot.channels.zalo.webhook import ZaloEventIn, zalo_webhook_route
from bot.gateway import GatewayPolicy, OutboundGateway, deliver_replies
from bot.inbound import InboundLog, Pending, apology, recovery_loop
from bot.messages import IncomingMessage, Reply, SentMessage
from bot.settings import Settings
from bot.storage.models import User
from bot.tasks import cancel_and_wait
from handlers import texts

log = logging.getLogger(__name__)

FREE_WINDOW = dt.timedelta(hours=48)  # Zalo's free customer-service window after the user's last interaction
MAINTENANCE_SECONDS = 300.0  # how often to check the token's expiry and prune old event keys
NON_TEXT_EVENTS = frozenset({
    "user_send_image", "user_send_gif", "user_send_sticker", "user_send_file", "user_send_audio",
    "user_send_video", "user_send_location", "user_send_link", "user_send_business_card",
})  # fmt: skip

Greet = Callable[[IncomingMessage, Any], Awaitable[list[Reply]]]


def mark_inactive(*, sessions: sessionmaker[Session], external_id: str) -> bool:
    """Mark a Zalo user inactive (they unfollowed the OA); False when unknown."""
    with sessions.begin() as session:
        result = session.execute(
            update(User).where(User.channel == CHANNEL, User.external_id == external_id).values(is_active=False)
        )
        return int(getattr(result, "rowcount", 0)) > 0


def last_interaction(*, sessions: sessionmaker[Session], external_id: str) -> dt.datetime | None:
    """When the Zalo user last wrote to (or followed) the OA, or None when unknown."""
    with sessions() as session:
        return session.scalar(select(User.last_seen).where(User.channel == CHANNEL, User.external_id == external_id))


def to_incoming(event: ZaloEventIn) -> IncomingMessage | None:
    """The plain message for a citizen's message event (a tapped query button becomes ``button_data``)."""
    if event.user_id is None:
        return None
    if event.name == "user_send_text":
        body = event.text or ""
        if body.startswith(QUERY_PREFIX):
            return IncomingMessage(
                channel=CHANNEL, user_id=event.user_id, chat_id=event.user_id,
                button_data=body[len(QUERY_PREFIX):], message_id=event.msg_id,
            )  # fmt: skip
        return IncomingMessage(channel=CHANNEL, user_id=event.user_id, chat_id=event.user_id, text=body,
                               message_id=event.msg_id)
    if event.name in NON_TEXT_EVENTS:
        return IncomingMessage(channel=CHANNEL, user_id=event.user_id, chat_id=event.user_id, message_id=event.msg_id)
    return None


class ZaloChannel:
    """Processes Zalo webhook events with the shared handlers and delivers the replies."""

    name = CHANNEL

    def __init__(
        self,
        settings: Settings,
        host: ChannelHost,
        *,
        greet: Greet | None = None,
        maintenance_seconds: float = MAINTENANCE_SECONDS,
    ) -> None:
        if not settings.zalo_app_id:
            raise ValueError("ZALO_APP_ID is not set")
        self.settings = settings
        self.host = host
        self.services = host.services
        self.app_id = settings.zalo_app_id
        secret = settings.zalo_oa_secret_key
        self.webhook_secret = secret.get_secret_value() if secret is not None else ""
        app_secret = settings.zalo_app_secret.get_secret_value() if settings.zalo_app_secret else ""
        self.tokens = ZaloTokens(
            sessions=self.services.sessions,
            app_id=self.app_id,
            app_secret=app_secret,
            oauth_base_url=settings.zalo_oauth_base_url,
            on_refused=self._tell_staff_refused,
        )
        self.api = ZaloApi(base_url=settings.zalo_api_base_url, tokens=self.tokens)
        self.sender = ZaloSender(self.api)
        self._gateway = OutboundGateway(self.sender, GatewayPolicy.from_settings(settings))
        self._greet = greet
        self.maintenance_seconds = maintenance_seconds
        self._tasks: set[asyncio.Task[Any]] = set()
        self._chat_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._maintenance: asyncio.Task[None] | None = None
        self.inbound = InboundLog.for_channel(self.services, settings, CHANNEL)
        self._recovery: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()  # set once the tokens are stored: events that arrive earlier wait

    def clock(self) -> dt.datetime:
        """The services' clock (tests move it)."""
        now: dt.datetime = self.services.clock()
        return now

    # ----- the channel contract ----------------------------------------------------------------------------

    @property
    def gateway(self) -> OutboundGateway:
        """Every message to Zalo leaves through this gateway."""
        return self._gateway

    def secrets(self) -> list[str]:
        """Nothing beyond the settings' secrets (refreshed tokens are registered as they arrive)."""
        return []

    async def _tell_staff_refused(self, err: TokenRefused) -> None:
        await self.host.alert_staff(texts.ZALO_REFRESH_REFUSED.format(code=err.code, reason=err.reason))

    # ----- lifecycle ---------------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """The webhook route for the bot's HTTP server."""
        if not self.webhook_secret:
            log.error("ZALO_OA_SECRET_KEY is not set: every Zalo webhook call will be refused")
        return [
            zalo_webhook_route(
                self.submit,
                app_id=self.app_id,
                secret=self.webhook_secret or "\0unset",
                max_age=self.settings.zalo_event_max_age_seconds,
            )
        ]

    async def start(self) -> None:
        """Store the configured tokens, refresh them if due, and start the maintenance loop."""
        await self._seed_tokens()
        await self.maintain()
        self._ready.set()
        self._maintenance = asyncio.create_task(self._maintenance_loop(), name="zalo-maintenance")
        self._recovery = asyncio.create_task(
            recovery_loop(self.inbound, self._replay, apology(self._send_late)), name="zalo-inbound-recovery"
        )
        log.info("Zalo OA channel ready (webhook on /zalo/webhook)")

    async def open_outbound(self) -> None:
        """Store the configured tokens so the gateway can send, without the maintenance loop."""
        await self._seed_tokens()
        self._ready.set()

    async def close_outbound(self) -> None:
        """Close the HTTP client."""
        await self.api.aclose()

    async def _seed_tokens(self) -> None:
        access = self.settings.zalo_oa_access_token
        refresh = self.settings.zalo_oa_refresh_token
        await asyncio.to_thread(
            self.tokens.seed,
            access.get_secret_value() if access else None,
            refresh.get_secret_value() if refresh else None,
        )

    async def stop(self) -> None:
        """Stop the maintenance loop, let in-flight events finish (briefly) and close the HTTP client."""
        await cancel_and_wait(self._recovery, self._maintenance)
        self._recovery = self._maintenance = None
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        await self._gateway.close()
        await self.api.aclose()

    async def maintain(self) -> None:
        """Refresh the token ahead of expiry (errors are logged)."""
        try:
            await self.tokens.ensure_fresh()
        except (TokenRefused, RefreshFailed) as err:
            log.warning("Zalo token check: %s", err)
        except Exception:
            log.exception("Zalo token check failed")

    async def _maintenance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.maintenance_seconds)
            await self.maintain()

    # ----- events ------------------------------------------------------------------------------------------

    async def submit(self, event: ZaloEventIn) -> None:
        """Record ``event`` (before the webhook answers 200), then answer it in the background."""
        if not await self.claim(event):
            return
        task = asyncio.get_running_loop().create_task(self._locked(event, self._answer), name=f"zalo-{event.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every submitted event is processed (tests)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def claim(self, event: ZaloEventIn) -> bool:
        """Record ``event``; False for one without a user or seen before (already answered, or in hand)."""
        if event.user_id is None:
            log.info("Zalo %s event without a user; acknowledged", event.name or "unnamed")
            return False
        payload = json.dumps(dataclasses.asdict(event), ensure_ascii=False)
        try:
            first = await asyncio.to_thread(self.inbound.claim, event.key, payload, event.user_id)
        except Exception:  # the database is down: answering beats refusing
            log.exception("could not record a Zalo event; answering it anyway")
            return True
        if not first:
            log.info("Zalo event %s arrived again; already answered or being answered", event.key)
        return first

    async def process(self, event: ZaloEventIn) -> list[SentMessage]:
        """Handle one event, once: message → handlers → replies; follow → greeting; unfollow → inactive."""
        if not await self.claim(event):
            return []
        return await self._locked(event, self._answer)

    async def _locked(
        self, event: ZaloEventIn, work: Callable[[ZaloEventIn], Awaitable[list[SentMessage]]]
    ) -> list[SentMessage]:
        """Run ``work`` for ``event`` once the channel is ready, one event per user at a time, in order."""
        user = event.user_id or "-"
        lock, users = self._chat_locks.get(user, (asyncio.Lock(), 0))
        self._chat_locks[user] = (lock, users + 1)
        try:
            async with lock:
                await self._ready.wait()
                return await work(event)
        except Exception:
            log.exception("error while handling a Zalo %s event", event.name)
            return []
        finally:
            lock, users = self._chat_locks[user]
            if users <= 1:
                del self._chat_locks[user]
            else:
                self._chat_locks[user] = (lock, users - 1)

    async def _answer(self, event: ZaloEventIn) -> list[SentMessage]:
        """Act on a claimed event; it is marked done once its replies went out (or were refused for good)."""
        assert event.user_id is not None
        sent: list[SentMessage] = []
        complete = True
        if event.name == "follow":
            follower = IncomingMessage(channel=CHANNEL, user_id=event.user_id, chat_id=event.user_id)
            sent, complete = await self._deliver(event.user_id, await self._greeter()(follower, self.services))
        elif event.name == "unfollow":
            known = await asyncio.to_thread(mark_inactive, sessions=self.services.sessions, external_id=event.user_id)
            self.services.records.forget(channel=CHANNEL, external_id=event.user_id)  # a re-follow re-activates
            log.info("a Zalo user unfollowed the OA%s", "" if known else " (never talked to the bot)")
        elif (msg := to_incoming(event)) is None:
            log.info("Zalo %s event acknowledged without action", event.name or "unnamed")
        else:
            try:
                replies = await self.host.handle(msg)
            except Exception:
                log.exception("handler failed on a Zalo message")
                replies = [Reply(text=texts.ERROR)]
            sent, complete = await self._deliver(msg.chat_id, replies)
        if complete:
            await asyncio.to_thread(self.inbound.finish, event.key)
        return sent

    async def _replay(self, pending: Pending) -> None:
        await self._locked(ZaloEventIn(**json.loads(pending.payload)), self._answer)

    def _greeter(self) -> Greet:
        if self._greet is None:
            from handlers.routes import greet_follower

            self._greet = greet_follower
        return self._greet

    async def deliver(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        """Send replies in order; a blocked user or a refused message is logged, not raised."""
        return (await self._deliver(chat_id, replies))[0]

    async def _deliver(self, chat_id: str, replies: list[Reply]) -> tuple[list[SentMessage], bool]:
        """What was sent, and whether the event is done (False when retries ran out: answered again later)."""
        return await deliver_replies(self._gateway, chat_id, replies)

    async def _send_late(self, chat_id: str) -> None:
        await self._gateway.send(chat_id, [Reply(text=texts.INBOUND_LATE)])

    # ----- announcements -----------------------------------------------------------------------------------

    async def eligibility(self, chat_id: str) -> str | None:
        """The reason a notice may not go to ``chat_id`` now (outside the 48-hour window), or None."""
        seen = await asyncio.to_thread(last_interaction, sessions=self.services.sessions, external_id=chat_id)
        if seen is None or self.clock() - seen > FREE_WINDOW:
            return texts.ZALO_SKIPPED_OUTSIDE_WINDOW
        return None
