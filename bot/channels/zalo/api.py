"""Sending on Zalo: rendering replies to OA messages, the customer-service message API, and ``ZaloSender``.

A reply becomes plain-text messages of at most 2,000 characters (split on paragraphs). Its buttons go on the
last message as a template attachment: data buttons as ``oa.query.hide`` (the tap comes back as a hidden text
``#tls:<data>``, see :data:`QUERY_PREFIX`), links as ``oa.open.url``. When they do not fit (too many, payload
too long) or Zalo refuses the template, the choices are written out as numbered lines instead; a bare number
typed back works as the button on every channel (``handlers.routes``).

``POST {ZALO_API_BASE_URL}/v3.0/oa/message/cs`` succeeds with HTTP 200 and ``"error": 0``; anything else maps
to the delivery errors of :mod:`bot.messages` with Zalo's code kept. An expired token (HTTP 401 or -216) is
refreshed and the message retried once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot import metrics
from bot.channels.render import is_safe_url, render_plain, split_message
from bot.channels.zalo.tokens import RefreshFailed, TokenRefused, ZaloTokens
from bot.messages import (
    AmbiguousError,
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

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SEND_PATH = "/v3.0/oa/message/cs"
ZALO_LIMIT = 2000  # characters per text message
QUERY_PREFIX = "#tls:"  # marks a tapped oa.query.hide button among typed texts
MAX_BUTTONS = 5  # buttons per template message
MAX_TITLE = 100
MAX_PAYLOAD = 1000

TOKEN_ERRORS = frozenset({-216, -124})  # access token invalid / expired
BLOCKED_ERRORS = frozenset({-217})  # the user blocked the OA
WINDOW_ERRORS = frozenset({-213, -230, -232})  # not following, or no interaction inside the free window
RATE_ERRORS = frozenset({-32, -211})  # request rate or quota exceeded
RATE_RETRY_SECONDS = 5.0  # Zalo gives no retry-after; the gateway slows the channel down on each one
# httpx errors raised before the request reached Zalo; anything else may have been delivered
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout)


class ZaloTokenError(PermanentError):
    """The OA has no usable token (Zalo refused the refresh): nothing can be sent until staff renew it."""


def query_payload(data: str) -> str:
    """The ``oa.query.hide`` payload that brings ``data`` back as button data."""
    return QUERY_PREFIX + data


def _flat(reply: Reply) -> list[Button]:
    return [b for row in reply.buttons for b in row]


def _title(label: str) -> str:
    label = " ".join(label.split()) or "…"
    return label if len(label) <= MAX_TITLE else label[: MAX_TITLE - 1] + "…"


def template_buttons(buttons: list[Button]) -> list[dict[str, Any]] | None:
    """Zalo buttons for ``buttons``, or None when they do not fit a template (then use numbered text)."""
    out: list[dict[str, Any]] = []
    for b in buttons:
        if b.url is not None:
            if is_safe_url(b.url) and len(b.url) <= MAX_PAYLOAD:
                out.append({"title": _title(b.label), "type": "oa.open.url", "payload": {"url": b.url}})
            else:
                log.warning("dropping Zalo link button %r: not an http(s) url", b.label)
        elif b.data is not None:
            payload = query_payload(b.data)
            if len(payload) > MAX_PAYLOAD:
                return None
            out.append({"title": _title(b.label), "type": "oa.query.hide", "payload": payload})
    if not out or len(out) > MAX_BUTTONS:
        return None
    return out


def numbered_choices(buttons: list[Button]) -> str:
    """The buttons written out: data buttons numbered in display order (as the router counts them), links as text."""
    lines: list[str] = []
    count = 0
    for b in buttons:
        if b.url is not None:
            if is_safe_url(b.url):
                lines.append(f"{_title(b.label)}: {b.url}")
        elif b.data is not None:
            count += 1
            lines.append(f"{count}. {_title(b.label)}")
    if count:
        numbers = [str(n) for n in range(1, count + 1)]
        spoken = numbers[0] if count == 1 else ", ".join(numbers[:-1]) + f" {texts.ZALO_OR} {numbers[-1]}"
        lines.append(texts.ZALO_CHOOSE_NUMBER.format(numbers=spoken))
    return "\n".join(lines)


@dataclass(frozen=True)
class OutMessage:
    """One Zalo message to send; ``fallback`` replaces it if Zalo refuses the attachment."""

    message: dict[str, Any]
    fallback: list[dict[str, Any]] | None = None


def render_reply(reply: Reply, limit: int = ZALO_LIMIT) -> list[OutMessage]:
    """The Zalo messages for one reply: text chunks, buttons on the last (or numbered choices)."""
    chunks = render_plain(reply.text, limit) or ["…"]
    buttons = _flat(reply)
    if not buttons:
        return [OutMessage({"text": chunk}) for chunk in chunks]
    choices = numbered_choices(buttons)
    as_text = [{"text": c} for c in split_message(f"{chunks[-1]}\n\n{choices}", limit, length=len)] if choices else [
        {"text": chunks[-1]}
    ]
    head = [OutMessage({"text": chunk}) for chunk in chunks[:-1]]
    template = template_buttons(buttons)
    if template is None:
        return head + [OutMessage(m) for m in as_text]
    attachment = {"type": "template", "payload": {"buttons": template}}
    return [*head, OutMessage({"text": chunks[-1], "attachment": attachment}, fallback=as_text)]


def to_delivery_error(status: int, body: Any) -> DeliveryError:
    """Map a failed answer of the message API to the channel-neutral delivery error (Zalo's code kept)."""
    code: int | None = None
    message = f"HTTP {status}"
    if isinstance(body, dict):
        try:
            code = int(body["error"]) if body.get("error") is not None else None
        except (TypeError, ValueError):
            code = None
        message = str(body.get("message") or message)
    reason = f"Zalo error {code}: {message}" if code is not None else f"Zalo: {message}"
    if status >= 500 or status == 0:
        return TransientError(reason, code=code if code is not None else status)
    if code in BLOCKED_ERRORS:
        return RecipientBlocked(reason, code=code)
    if code in RATE_ERRORS or status == 429:
        return RateLimited(reason, retry_after=RATE_RETRY_SECONDS, code=code if code is not None else status)
    return PermanentError(reason, code=code if code is not None else status)


def _is_token_error(status: int, body: Any) -> bool:
    if status == 401:
        return True
    return isinstance(body, dict) and body.get("error") in TOKEN_ERRORS


class ZaloApi:
    """The OA message API over one ``httpx.AsyncClient``."""

    def __init__(self, *, base_url: str, tokens: ZaloTokens, timeout: float = 20.0) -> None:
        self.url = base_url.rstrip("/") + SEND_PATH
        self.tokens = tokens
        self.client = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()

    async def _post(self, token: str, payload: dict[str, Any]) -> tuple[int, Any]:
        try:
            response = await self.client.post(self.url, headers={"access_token": token}, json=payload)
        except NOT_SENT_ERRORS as err:
            raise TransientError(f"Zalo unreachable: {type(err).__name__}") from err
        except httpx.HTTPError as err:  # the request may have reached Zalo
            raise AmbiguousError(f"Zalo answer lost: {type(err).__name__}") from err
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    async def send_message(self, user_id: str, message: dict[str, Any]) -> SentMessage:
        """Send one message; refresh the token and retry once when Zalo says it expired."""
        payload = {"recipient": {"user_id": user_id}, "message": message}
        try:
            token = await self.tokens.access_token()
            status, body = await self._post(token, payload)
            if _is_token_error(status, body):
                log.info("Zalo rejected the access token (HTTP %s); refreshing", status)
                fresh = await self.tokens.refresh(stale=token)
                if fresh.access_token is None:
                    raise TokenRefused("no Zalo access token after refresh")
                status, body = await self._post(fresh.access_token, payload)
        except TokenRefused as err:
            raise ZaloTokenError(f"Zalo token refresh refused: {err.reason}", code=err.code) from err
        except RefreshFailed as err:
            raise TransientError(str(err)) from err
        if status == 200 and isinstance(body, dict) and body.get("error") == 0:
            data = body.get("data")
            message_id = data.get("message_id") if isinstance(data, dict) else None
            return SentMessage(message_id=str(message_id) if message_id is not None else None)
        error = to_delivery_error(status, body)
        if isinstance(error, RateLimited):
            metrics.rate_limited(CHANNEL)
        raise error


class ZaloSender(SequentialSender):
    """Delivers replies to one Zalo user; raises :class:`~bot.messages.DeliveryError` subclasses."""

    channel = CHANNEL

    def __init__(self, api: ZaloApi) -> None:
        self.api = api

    def parts(self, chat_id: str, reply: Reply) -> list[Part]:
        """One call per Zalo message; a refused template is replaced by its numbered-text fallback."""

        def part(out: OutMessage) -> Part:
            async def call() -> list[SentMessage]:
                try:
                    return [await self.api.send_message(chat_id, out.message)]
                except PermanentError as err:
                    if out.fallback is None or isinstance(err, ZaloTokenError) or err.code in WINDOW_ERRORS:
                        raise
                    log.warning("Zalo refused a message with buttons (%s); sending numbered choices", err.reason)
                    return [await self.api.send_message(chat_id, message) for message in out.fallback]

            return call

        return [part(out) for out in render_reply(reply)]
