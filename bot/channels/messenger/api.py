"""Sending on Messenger: rendering replies, the Send API client and ``MessengerSender``.

A reply becomes plain-text messages of at most 2,000 characters (Messenger's limit, split on paragraphs); links
are written out as text. Its data buttons become quick replies on the last message (at most 13, titles of at most
20 characters): when every label fits, the labels are the titles; otherwise the choices are written out as numbered
lines and the quick replies carry the numbers, so the full wording is always readable. A typed number works as the
button too (the routing layer does that for every channel).

``POST {MESSENGER_API_BASE_URL}/<version>/me/messages`` answers 200 with a ``message_id``; an error answer carries
``{"error": {"code", "error_subcode", "message"}}``, mapped to the delivery errors of :mod:`bot.messages`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot import metrics
from bot.channels.render import is_safe_url, render_plain, split_message
from bot.messages import (
    Button,
    DeliveryError,
    Part,
    PermanentError,
    RateLimited,
    RecipientBlocked,
    Reply,
    SentMessage,
    SequentialSender,
    TransientError,
)
from handlers import texts
from handlers.ui import number_list, numbered

log = logging.getLogger(__name__)

CHANNEL = "messenger"
GRAPH_VERSION = "v25.0"
TEXT_LIMIT = 2000  # characters per text message
MAX_QUICK_REPLIES = 13
MAX_QUICK_TITLE = 20
MAX_PAYLOAD = 1000
RATE_LIMIT_WAIT = 30.0  # Meta gives no Retry-After; its limits are per hour, so back off firmly

TRANSIENT_CODES = frozenset({1, 2, 1200})  # unknown / temporary / "temporary send message failure"
RATE_CODES = frozenset({4, 17, 32, 613})  # application, user, page and API-call rate limits
TOKEN_CODES = frozenset({190})  # invalid or expired page access token
UNREACHABLE = frozenset({(551, None), (551, 1545041), (100, 2018001), (200, 1545041)})
WINDOW_SUBCODES = frozenset({2018278})  # "This message is sent outside of allowed window"


class MessengerTokenError(PermanentError):
    """The page access token was refused: nothing can be sent until staff put a new one in the settings."""


class OutsideWindow(PermanentError):
    """Messenger refused a message outside its 24-hour standard messaging window."""


def quick_replies(buttons: list[Button]) -> tuple[list[dict[str, str]], str]:
    """The quick replies for the data buttons, and the numbered text to show when labels are too long for titles.

    The numbers are the ones the router understands when typed (``handlers.ui.numbered``), so "9" stays "next".
    """
    data = [(n, b) for n, b in numbered(buttons) if b.data is not None and len(b.data) <= MAX_PAYLOAD]
    if not data:
        return [], ""
    shown = data[:MAX_QUICK_REPLIES]
    labels = [" ".join(b.label.split()) for _n, b in data]
    if len(data) <= MAX_QUICK_REPLIES and all(0 < len(label) <= MAX_QUICK_TITLE for label in labels):
        return [{"content_type": "text", "title": label, "payload": str(b.data)}
                for label, (_n, b) in zip(labels, data, strict=True)], ""
    lines = [f"{n}. {label}" for label, (n, _b) in zip(labels, data, strict=True)]
    lines.append(texts.TYPE_TO_CHOOSE.format(numbers=number_list(n for n, _b in data)))
    return [{"content_type": "text", "title": str(n), "payload": str(b.data)} for n, b in shown], "\n".join(lines)


def link_lines(buttons: list[Button]) -> str:
    """Link buttons written out as ``label: url`` lines (unsafe links dropped)."""
    links = [b for b in buttons if b.url is not None and is_safe_url(b.url)]
    return "\n".join(f"{' '.join(b.label.split())}: {b.url}" for b in links)


def render_reply(reply: Reply, limit: int = TEXT_LIMIT) -> list[dict[str, Any]]:
    """The Messenger ``message`` objects for one reply: text chunks, quick replies on the last."""
    buttons = [b for row in reply.buttons for b in row]
    replies, numbered = quick_replies(buttons)
    tail = "\n\n".join(part for part in (link_lines(buttons), numbered) if part)
    chunks = render_plain(reply.text, limit) or ["…"]
    if tail:
        chunks = chunks[:-1] + split_message(f"{chunks[-1]}\n\n{tail}", limit, length=len)
    messages: list[dict[str, Any]] = [{"text": chunk} for chunk in chunks]
    if replies:
        messages[-1]["quick_replies"] = replies
    return messages


def to_delivery_error(status: int, body: Any) -> DeliveryError:
    """Map a failed Send API answer to the channel-neutral delivery error (Meta's code kept)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    sub = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    message = str(error.get("message") or f"HTTP {status}")
    reason = f"Messenger error {code}/{sub}: {message}" if code is not None else f"Messenger: {message}"
    if code in TOKEN_CODES:
        return MessengerTokenError(reason, code=code)
    if code in RATE_CODES or status == 429:
        return RateLimited(reason, retry_after=RATE_LIMIT_WAIT, code=code if code is not None else status)
    if (code, sub) in UNREACHABLE or (code == 551):
        return RecipientBlocked(reason, code=code)
    if sub in WINDOW_SUBCODES:
        return OutsideWindow(reason, code=code)
    if status >= 500 or status == 0 or code in TRANSIENT_CODES:
        return TransientError(reason, code=code if code is not None else status)
    return PermanentError(reason, code=code if code is not None else status)


class GraphApi:
    """The Send API over one ``httpx.AsyncClient``; the page token goes in the query string, never in logs."""

    def __init__(self, *, base_url: str, page_token: str, timeout: float = 20.0) -> None:
        self.url = f"{base_url.rstrip('/')}/{GRAPH_VERSION}/me/messages"
        self._token = page_token
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0))

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()

    async def _post(self, payload: dict[str, Any]) -> Any:
        try:
            response = await self.client.post(self.url, params={"access_token": self._token}, json=payload)
        except httpx.HTTPError as err:
            raise TransientError(f"Messenger unreachable: {type(err).__name__}") from err
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and "error" not in body:
            return body
        error = to_delivery_error(response.status_code, body)
        if isinstance(error, RateLimited):
            metrics.rate_limited(CHANNEL)
        raise error

    async def send_message(
        self, psid: str, message: dict[str, Any], *, messaging_type: str = "RESPONSE"
    ) -> SentMessage:
        """Send one message to the page-scoped id ``psid``."""
        body = await self._post({"recipient": {"id": psid}, "messaging_type": messaging_type, "message": message})
        message_id = body.get("message_id")
        return SentMessage(message_id=str(message_id) if message_id is not None else None)

    async def typing_on(self, psid: str) -> None:
        """Show the typing indicator (best effort: errors are logged at DEBUG and ignored)."""
        try:
            await self._post({"recipient": {"id": psid}, "sender_action": "typing_on"})
        except DeliveryError as err:
            log.debug("messenger typing indicator not shown: %s", err.reason)


@dataclass
class MessengerSender(SequentialSender):
    """Delivers replies to one Messenger user; raises :class:`~bot.messages.DeliveryError` subclasses."""

    api: GraphApi
    channel: str = CHANNEL

    def parts(self, chat_id: str, reply: Reply) -> list[Part]:
        """One Send API call per Messenger message of ``reply``."""

        def part(message: dict[str, Any]) -> Part:
            async def call() -> list[SentMessage]:
                return [await self.api.send_message(chat_id, message)]

            return call

        return [part(message) for message in render_reply(reply)]
