"""The Telegram channel: a python-telegram-bot ``Application`` over the plain handlers, and a ``Sender``.

Every update becomes an :class:`~bot.messages.IncomingMessage`; ``handlers.routes.handle`` answers with
:class:`~bot.messages.Reply` objects, which are rendered to escaped HTML, split at 4,096 characters and sent
(or edited in place). :class:`TelegramSender` maps Bot API failures to the delivery errors of
``bot.messages`` so broadcasts can decide whether to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import httpx
from starlette.routing import BaseRoute
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import metrics
from bot.channel import ChannelHost
from bot.channels.http import TELEGRAM_WEBHOOK_PATH, telegram_webhook_route, telegram_webhook_secret
from bot.channels.render import TELEGRAM_LIMIT, is_safe_url, render_plain, render_telegram
from bot.gateway import GatewayPolicy, OutboundGateway
from bot.inbound import InboundLog, Pending, recovery_loop
from bot.messages import (
    AmbiguousError,
    Button,
    DeliveryError,
    Document,
    DocumentTooLarge,
    DocumentUnavailable,
    IncomingMessage,
    Part,
    PermanentError,
    RateLimited,
    RecipientBlocked,
    Reply,
    SentMessage,
    SequentialSender,
    TransientError,
)
from bot.settings import Settings
from bot.tasks import cancel_and_wait
from handlers import texts

log = logging.getLogger(__name__)

# httpx errors raised before the request reached the server; anything else may have been delivered
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout)
SEND_READ_TIMEOUT = 20.0  # seconds; PTB's 5 s default turns a slow but successful send into a retry and a duplicate

CHANNEL = "telegram"
CALLBACK_DATA_LIMIT = 64  # bytes, a Bot API limit
ALLOWED_UPDATES = ["message", "callback_query"]  # the update types the bot handles

# The chat commands; descriptions are what citizens see in Telegram's command menu.
PUBLIC_COMMANDS = texts.COMMAND_MENU
STAFF_COMMANDS = texts.STAFF_COMMAND_MENU

TgApplication = Application[Any, Any, Any, Any, Any, Any]


def file_base_url(base_url: str) -> str:
    """The file-download base matching a Bot API base (``…/bot`` → ``…/file/bot``)."""
    base = base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("bot")] + "file/bot"
    return base + "/file/bot"


def _is_parse_error(err: BadRequest) -> bool:
    return "can't parse entities" in err.message.lower() or "can't find end" in err.message.lower()


def _is_not_modified(err: BadRequest) -> bool:
    return "message is not modified" in err.message.lower()


def to_delivery_error(err: TelegramError) -> DeliveryError:
    """Map a python-telegram-bot error to the channel-neutral delivery error."""
    if isinstance(err, Forbidden):
        return RecipientBlocked(err.message, code=403)
    if isinstance(err, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that int seconds will become a timedelta
            warnings.simplefilter("ignore")
            retry: Any = err.retry_after
        seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
        return RateLimited(err.message, retry_after=seconds)
    if isinstance(err, BadRequest):
        return PermanentError(err.message, code=400)
    if isinstance(err, TimedOut | NetworkError):  # PTB raises NetworkError for 5xx answers too
        if nothing_was_sent(err):
            return TransientError(err.message)
        return AmbiguousError(err.message)
    return PermanentError(err.message)


def nothing_was_sent(err: TelegramError) -> bool:
    """True when ``err`` proves the Bot API never took the request (no connection, or it answered an error)."""
    cause = err.__cause__
    if cause is None:
        return not isinstance(err, TimedOut)  # an HTTP error answer: Telegram saw the request and refused it
    return isinstance(cause, NOT_SENT_ERRORS)


def build_keyboard(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for ``buttons``; drops (and logs) buttons Telegram would refuse."""
    rows: list[list[InlineKeyboardButton]] = []
    for row in buttons:
        out: list[InlineKeyboardButton] = []
        for button in row:
            label = button.label.strip() or "…"
            if button.data is not None:
                if 1 <= len(button.data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    out.append(InlineKeyboardButton(label, callback_data=button.data))
                else:
                    log.warning("dropping button %r: callback data is %d bytes", label,
                                len(button.data.encode("utf-8")))
            elif button.url is not None and is_safe_url(button.url):
                out.append(InlineKeyboardButton(label, url=button.url))
            else:
                log.warning("dropping button %r: no data and no http(s) url", label)
        if out:
            rows.append(out)
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramSender(SequentialSender):
    """Sends replies through a PTB ``Bot``; raises :class:`~bot.messages.DeliveryError` subclasses."""

    channel = CHANNEL

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    def parts(self, chat_id: str, reply: Reply) -> list[Part]:
        """One Bot API call per ≤ 4,096-character chunk; the first edits in place when the reply asks to."""
        chunks = render_telegram(reply.text, TELEGRAM_LIMIT) or ["…"]
        keyboard = build_keyboard(reply.buttons)
        preview = LinkPreviewOptions(is_disabled=reply.disable_preview)

        def part(index: int, chunk: str) -> Part:
            markup = keyboard if index == len(chunks) - 1 else None

            async def call() -> list[SentMessage]:
                try:
                    if index == 0 and reply.edit_message_id is not None:
                        edited = await self._edit(chat_id, reply, chunk, markup, preview)
                        if edited is not None:
                            return [edited]
                    return [await self._send_chunk(chat_id, reply, index, chunk, markup, preview)]
                except TelegramError as err:
                    if isinstance(err, RetryAfter):
                        metrics.rate_limited(CHANNEL)
                    raise to_delivery_error(err) from err

            return call

        parts = [part(index, chunk) for index, chunk in enumerate(chunks)]
        if reply.photo:
            photo = reply.photo

            async def send_photo() -> list[SentMessage]:
                try:
                    sent = await self.bot.send_photo(chat_id=chat_id, photo=photo, read_timeout=SEND_READ_TIMEOUT)
                except TelegramError as err:
                    raise to_delivery_error(err) from err
                return [SentMessage(message_id=str(sent.message_id))]

            parts.insert(0, send_photo)
        return parts

    async def _send_chunk(
        self,
        chat_id: str,
        reply: Reply,
        index: int,
        chunk: str,
        markup: InlineKeyboardMarkup | None,
        preview: LinkPreviewOptions,
    ) -> SentMessage:
        try:
            message = await self.bot.send_message(
                chat_id=chat_id, text=chunk, parse_mode=ParseMode.HTML, reply_markup=markup,
                link_preview_options=preview, read_timeout=SEND_READ_TIMEOUT,
            )
        except BadRequest as err:
            if not _is_parse_error(err):
                raise
            log.warning("Telegram refused our HTML (%s); sending as plain text", err.message)
            plain = render_plain(reply.text, TELEGRAM_LIMIT)
            text = plain[min(index, len(plain) - 1)] if plain else "…"
            message = await self.bot.send_message(
                chat_id=chat_id, text=text, reply_markup=markup, link_preview_options=preview,
                read_timeout=SEND_READ_TIMEOUT,
            )
        return SentMessage(message_id=str(message.message_id))

    async def _edit(
        self,
        chat_id: str,
        reply: Reply,
        chunk: str,
        markup: InlineKeyboardMarkup | None,
        preview: LinkPreviewOptions,
    ) -> SentMessage | None:
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id, message_id=int(str(reply.edit_message_id)), text=chunk,
                parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=preview,
                read_timeout=SEND_READ_TIMEOUT,
            )
        except BadRequest as err:
            if _is_not_modified(err):
                return SentMessage(message_id=reply.edit_message_id)
            log.info("editing message %s failed (%s); sending a new one", reply.edit_message_id, err.message)
            return None
        except ValueError:
            return None
        return SentMessage(message_id=reply.edit_message_id)


class RecordingQueue(asyncio.Queue[object]):
    """The Application's update queue: an update is recorded before it is queued, so before it is acknowledged.

    The Updater asks for the next updates (acknowledging these) only after putting them here, and the webhook
    answers 200 only after putting; a duplicate ``update_id`` is dropped here.
    """

    def __init__(self, channel: TelegramChannel) -> None:
        super().__init__()
        self.channel = channel

    async def put(self, item: object) -> None:
        """Queue ``item`` unless it is an update already answered or in hand."""
        if isinstance(item, Update) and not await self.channel.admit(item):
            log.info("Telegram update %s seen before; dropped", item.update_id)
            return
        await super().put(item)


class TelegramChannel:
    """The Telegram channel (see :mod:`bot.channel`): PTB updates → plain messages → the routing table → gateway.

    Long polling by default; with ``TELEGRAM_WEBHOOK_URL`` the Bot API posts updates to
    :data:`~bot.channels.http.TELEGRAM_WEBHOOK_PATH` on the shared HTTP server.
    """

    name = CHANNEL

    def __init__(self, settings: Settings, host: ChannelHost, *, concurrent_updates: int = 16) -> None:
        self.settings = settings
        self.host = host
        self.services = host.services
        self.webhook_url = settings.telegram_webhook_url
        self._chat_locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock and its users
        self.application = self.build_application(webhook=self.webhook_url is not None,
                                                  concurrent_updates=concurrent_updates)
        self.inbound = InboundLog.for_channel(self.services, settings, CHANNEL)
        self._recovery: asyncio.Task[None] | None = None
        self._gateway = OutboundGateway(TelegramSender(self.application.bot), GatewayPolicy.from_settings(settings))
        self._secret = telegram_webhook_secret(settings) if self.webhook_url is not None else ""

    # ----- the channel contract ----------------------------------------------------------------------------

    @property
    def gateway(self) -> OutboundGateway:
        """Every message to Telegram leaves through this gateway."""
        return self._gateway

    def routes(self) -> list[BaseRoute]:
        """The webhook route in webhook mode; nothing when polling."""
        if self.webhook_url is None:
            return []
        return [telegram_webhook_route(self.application, self._secret)]

    def secrets(self) -> list[str]:
        """The webhook secret (derived from the token when not set)."""
        return [self._secret] if self._secret else []

    async def eligibility(self, chat_id: str) -> str | None:
        """Telegram lets a bot write to anyone who started it: always eligible."""
        return None

    async def start(self) -> None:
        """Initialize the Application, publish the command menu, then poll or set the webhook."""
        application = self.application
        await application.initialize()
        await self.set_commands(application)
        await application.start()
        if self.webhook_url is not None:
            url = self.webhook_url.rstrip("/")
            if not url.endswith(TELEGRAM_WEBHOOK_PATH):
                url += TELEGRAM_WEBHOOK_PATH
            await application.bot.set_webhook(url=url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram webhook mode")
        else:
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram long-polling mode")
        self._recovery = asyncio.create_task(
            recovery_loop(self.inbound, self._replay, self._apologize), name="telegram-inbound-recovery"
        )

    async def open_outbound(self) -> None:
        """Make the gateway usable without polling or a webhook (a tool that only sends)."""
        await self.application.bot.initialize()

    async def close_outbound(self) -> None:
        """Undo :meth:`open_outbound`."""
        await self.application.bot.shutdown()

    async def stop(self) -> None:
        """Stop polling and the Application (whatever part of :meth:`start` ran)."""
        await cancel_and_wait(self._recovery)
        self._recovery = None
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        with contextlib.suppress(Exception):
            await application.shutdown()
        await self._gateway.close()

    # ----- building ----------------------------------------------------------------------------------------

    def build_application(self, *, webhook: bool = False, concurrent_updates: int = 16) -> TgApplication:
        """An Application honouring ``TELEGRAM_API_BASE_URL``; ``webhook`` builds it without an Updater."""
        token = self.settings.telegram_bot_token
        if token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines contain the token
        builder = (
            ApplicationBuilder()
            .token(token.get_secret_value())
            .base_url(self.settings.telegram_api_base_url)
            .base_file_url(file_base_url(self.settings.telegram_api_base_url))
            .concurrent_updates(concurrent_updates)
            .update_queue(RecordingQueue(self))
        )
        if webhook:
            builder = builder.updater(None)
        application = builder.build()
        self.register(application)
        return application

    def register(self, application: TgApplication) -> None:
        """The routing table of the channel: messages, button presses, one error handler."""
        chats = filters.ChatType.PRIVATE | filters.ChatType.GROUPS
        application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & chats, self.on_message))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_error_handler(self.on_error)

    async def set_commands(self, application: TgApplication) -> None:
        """Publish the command menu (staff commands only in the admins' private chats)."""
        public = [BotCommand(name, text) for name, text in PUBLIC_COMMANDS]
        try:
            await application.bot.set_my_commands(public)
        except TelegramError as err:
            log.warning("setMyCommands failed: %s", err.message)
        staff = public + [BotCommand(name, text) for name, text in STAFF_COMMANDS]
        for admin_id in sorted(self.settings.admin_telegram_ids):
            try:
                await application.bot.set_my_commands(staff, scope=BotCommandScopeChat(admin_id))
            except TelegramError as err:  # the admin may not have started the bot yet
                log.info("setMyCommands for admin %s failed: %s", admin_id, err.message)

    # ----- converting updates ------------------------------------------------------------------------------

    def _addressing(self, message: Message, text: str | None, bot_id: int, username: str) -> tuple[bool, str | None]:
        """Whether a group message is meant for the bot, and its text without the @mention."""
        if text is None:
            return False, None
        mention = f"@{username}".lower() if username else None
        addressed = False
        entities = message.entities if message.text is not None else message.caption_entities
        cut: list[tuple[int, int]] = []
        for entity in entities:
            value = message.parse_entity(entity) if message.text is not None else message.parse_caption_entity(entity)
            if entity.type == MessageEntity.MENTION and mention and value.lower() == mention:
                addressed = True
                cut.append((entity.offset, entity.length))
            elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
                addressed = True
            elif entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
                command, _, target = value.partition("@")
                if not target or (mention and f"@{target}".lower() == mention):
                    addressed = True
                    suffix = len(value[len(command) :].encode("utf-16-le")) // 2
                    cut.append((entity.offset + entity.length - suffix, suffix))
        # Entity offsets count UTF-16 code units: cut in that encoding, each mention at its own place (a
        # second "@bot" must not remove the words before the first one).
        units = text.encode("utf-16-le", "surrogatepass")
        end_of_next = len(units) // 2
        for start, length in sorted(cut, reverse=True):
            end = min(start + length, end_of_next)  # overlapping entities: never cut the same units twice
            if 0 <= start < end:
                units = units[: 2 * start] + units[2 * end :]
                end_of_next = start
        text = units.decode("utf-16-le", "surrogatepass")
        reply_to = message.reply_to_message
        if reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot_id:
            addressed = True
        return addressed, " ".join(text.split()) if addressed else text

    def incoming_from_message(self, update: Update, bot_id: int, username: str) -> IncomingMessage | None:
        """The plain message for a Telegram message update (None for updates without a sender)."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return None
        text = message.text if message.text is not None else message.caption
        is_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        addressed = True
        if is_group:
            addressed, text = self._addressing(message, text, bot_id, username)
        elif text is not None and text.startswith("/"):
            head, _, rest = text.partition(" ")
            text = head.split("@", 1)[0] + (" " + rest if rest else "")
        reply_to = message.reply_to_message
        return IncomingMessage(
            channel=CHANNEL,
            user_id=str(user.id),
            chat_id=str(chat.id),
            text=text,
            display_name=user.full_name,
            message_id=str(message.message_id),
            reply_to_message_id=str(reply_to.message_id) if reply_to is not None else None,
            is_group=is_group,
            addressed=addressed,
            is_staff=user.id in self.settings.admin_telegram_ids,
            forwarded=message.forward_origin is not None,
            photo=message.photo[-1].file_id if message.photo else None,
            document=self.document(message),
        )

    def document(self, message: Message) -> Document | None:
        """The file sent with ``message``, read through the Bot API (``getFile``, then the download) on demand."""
        sent = message.document
        if sent is None:
            return None
        bot, file_id = self.application.bot, sent.file_id

        async def fetch(limit: int) -> bytes:
            try:
                file = await bot.get_file(file_id, read_timeout=SEND_READ_TIMEOUT)
                if file.file_size is not None and file.file_size > limit:
                    raise DocumentTooLarge(file.file_size, limit)
                return bytes(await file.download_as_bytearray(read_timeout=SEND_READ_TIMEOUT))
            except TelegramError as err:
                raise DocumentUnavailable(err.message) from err

        return Document(name=sent.file_name or "", size=sent.file_size, mime_type=sent.mime_type, fetch=fetch)

    def incoming_from_button(self, update: Update) -> IncomingMessage | None:
        """The plain message for a button press (callback query)."""
        query, user = update.callback_query, update.effective_user
        if query is None or user is None or query.data is None:
            return None
        message = query.message
        chat_id = str(message.chat.id) if message is not None else str(user.id)
        is_group = message is not None and message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        return IncomingMessage(
            channel=CHANNEL,
            user_id=str(user.id),
            chat_id=chat_id,
            button_data=query.data,
            display_name=user.full_name,
            message_id=str(message.message_id) if message is not None else None,
            is_group=is_group,
            addressed=True,
            is_staff=user.id in self.settings.admin_telegram_ids,
        )

    # ----- callbacks ---------------------------------------------------------------------------------------

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a text (or any) message."""
        bot = context.bot
        msg = self.incoming_from_message(update, bot.id, bot.username or "")
        if msg is not None:
            await self.process(msg, key=str(update.update_id))
        else:
            await self._finish(update.update_id)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a button press; the callback query is always answered."""
        query = update.callback_query
        if query is None:
            return
        answered = asyncio.create_task(self._answer(query))
        try:
            msg = self.incoming_from_button(update)
            if msg is not None:
                await self.process(msg, key=str(update.update_id))
            else:
                await self._finish(update.update_id)
        finally:
            await answered

    async def _answer(self, query: Any) -> None:
        try:
            await query.answer()
        except TelegramError as err:
            log.info("answerCallbackQuery failed: %s", err.message)

    async def process(self, msg: IncomingMessage, key: str | None = None) -> list[SentMessage]:
        """Route one plain message and deliver the replies (in order, one update per chat at a time).

        The update ``key`` is marked done once the replies went out (or were refused for good).
        """
        lock, users = self._chat_locks.get(msg.chat_id, (asyncio.Lock(), 0))
        self._chat_locks[msg.chat_id] = (lock, users + 1)
        try:
            async with lock:
                replies = await self.host.handle(msg)
                sent, complete = await self._deliver(msg.chat_id, replies)
            if key is not None and complete:
                await asyncio.to_thread(self.inbound.finish, key)
            return sent
        finally:
            lock, users = self._chat_locks[msg.chat_id]
            if users <= 1:
                del self._chat_locks[msg.chat_id]
            else:
                self._chat_locks[msg.chat_id] = (lock, users - 1)

    async def deliver(self, chat_id: str, replies: Sequence[Reply]) -> list[SentMessage]:
        """Send replies through the gateway; a blocked chat or a refused message is logged, not raised."""
        return (await self._deliver(chat_id, replies))[0]

    async def _deliver(self, chat_id: str, replies: Sequence[Reply]) -> tuple[list[SentMessage], bool]:
        """What was sent, and whether the update is done (False when retries ran out: answered again later)."""
        sent: list[SentMessage] = []
        complete = True
        for reply in replies:
            try:
                sent.extend(await self._gateway.send(chat_id, [reply]))
            except RecipientBlocked:  # the gateway logged and counted it
                break
            except PermanentError:
                continue
            except DeliveryError:
                complete = False
        return sent, complete

    async def _finish(self, update_id: int) -> None:
        await asyncio.to_thread(self.inbound.finish, str(update_id))

    # ----- inbound durability ------------------------------------------------------------------------------

    async def admit(self, update: Update) -> bool:
        """Record ``update`` before it is acknowledged; False for a duplicate (already answered or in hand)."""
        chat = update.effective_chat
        try:
            return await asyncio.to_thread(
                self.inbound.claim, str(update.update_id), update.to_json(), str(chat.id) if chat else None
            )
        except Exception:  # the database is down: answering beats refusing
            log.exception("could not record Telegram update %s; answering it anyway", update.update_id)
            return True

    async def _replay(self, pending: Pending) -> None:
        update = Update.de_json(json.loads(pending.payload), self.application.bot)
        await self.application.process_update(update)

    async def _apologize(self, pending: Pending) -> None:
        if pending.chat_id is not None:
            with contextlib.suppress(DeliveryError):
                await self._gateway.send(pending.chat_id, [Reply(text=texts.INBOUND_LATE)])

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error first, then apologise to the user politely."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("error while handling update %s", update_id, exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        if isinstance(context.error, Forbidden):
            return
        try:
            await self._gateway.send(str(update.effective_chat.id), [Reply(text=texts.ERROR)])
        except DeliveryError as err:
            log.warning("could not send the error notice: %s", err.reason)
            return
        with contextlib.suppress(Exception):  # the apology is the answer: do not process it again
            await self._finish(update.update_id)
