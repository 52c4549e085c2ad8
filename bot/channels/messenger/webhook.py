"""Receiving from Messenger: the verification handshake, the signature check and event parsing.

Meta signs every webhook call with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
app secret>``. The server refuses a body over ``HTTP_MAX_BODY_BYTES`` while reading it (413), and the signature
is checked before the body is parsed: a missing or wrong signature gets 401 and nothing else happens. One call
may carry several entries, each with several ``messaging`` events; the route records them, answers 200 and they
are processed after.

``GET`` on the same path is the subscription handshake: ``hub.mode=subscribe`` with the configured verify token
echoes ``hub.challenge``; anything else gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.http import read_json

log = logging.getLogger(__name__)

MESSENGER_WEBHOOK_PATH = "/messenger/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_EVENTS = 1000  # events taken from one call; the rest are dropped with a log line
MAX_TEXT = 8000  # characters of one text kept (the handlers refuse long texts politely)


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` is the right ``X-Hub-Signature-256`` for ``body`` (constant-time compare)."""
    if not header or not app_secret:
        return False
    expected = sign(body, app_secret).encode("ascii")
    return hmac.compare_digest(header.strip().lower().encode("ascii", "replace"), expected)


@dataclass(frozen=True)
class MessengerEventIn:
    """One citizen action the bot uses: a typed text, a quick reply or postback (``payload``), or an attachment."""

    sender_id: str
    mid: str | None = None
    text: str | None = None
    payload: str | None = None
    timestamp: int | None = None
    attachment: bool = False

    @property
    def key(self) -> str:
        """The de-duplication key: the message id, or sender + time for postbacks without one."""
        if self.mid:
            return f"mid:{self.mid}"[:160]
        return f"pb:{self.sender_id}:{self.timestamp or '-'}:{self.payload or ''}"[:160]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _event(item: dict[str, Any]) -> MessengerEventIn | None:
    """The event for one ``messaging`` item, or None for what the bot ignores (echoes, reads, deliveries)."""
    sender = item.get("sender")
    sender_id = _str(sender.get("id")) if isinstance(sender, dict) else None
    if sender_id is None:
        return None
    timestamp = item.get("timestamp") if isinstance(item.get("timestamp"), int) else None
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None  # the page's own messages come back as echoes
        quick = message.get("quick_reply")
        payload = _str(quick.get("payload")) if isinstance(quick, dict) else None
        text = _str(message.get("text"))
        return MessengerEventIn(
            sender_id=sender_id,
            mid=_str(message.get("mid")),
            text=text[:MAX_TEXT] if text else None,
            payload=payload[:1000] if payload else None,
            timestamp=timestamp,
            attachment=bool(message.get("attachments")) and text is None,
        )
    postback = item.get("postback")
    if isinstance(postback, dict):
        payload = _str(postback.get("payload"))
        return MessengerEventIn(
            sender_id=sender_id, mid=_str(postback.get("mid")), payload=payload[:1000] if payload else None,
            timestamp=timestamp,
        )  # fmt: skip
    return None


def parse_events(data: Any) -> list[MessengerEventIn]:
    """Every citizen event in one webhook body (``object: page``), in order; malformed parts are skipped."""
    if not isinstance(data, dict) or data.get("object") != "page":
        return []
    events: list[MessengerEventIn] = []
    entries = data.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        messaging = entry.get("messaging") if isinstance(entry, dict) else None
        for item in messaging if isinstance(messaging, list) else []:
            event = _event(item) if isinstance(item, dict) else None
            if event is not None:
                events.append(event)
            if len(events) >= MAX_EVENTS:
                log.warning("messenger webhook: more than %d events in one call; the rest dropped", MAX_EVENTS)
                return events
    return events


def messenger_webhook_routes(
    submit: Callable[[list[MessengerEventIn]], Awaitable[None]],
    *,
    app_secret: str,
    verify_token: str,
    path: str = MESSENGER_WEBHOOK_PATH,
) -> list[Route]:
    """``GET`` (handshake) and ``POST`` (signed events → ``submit``, 200 at once) on ``path``."""

    async def handshake(request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token") or ""
        if (
            params.get("hub.mode") == "subscribe"
            and verify_token
            and hmac.compare_digest(token.encode("utf-8", "replace"), verify_token.encode("utf-8"))
        ):
            log.info("messenger webhook subscription verified")
            return PlainTextResponse(params.get("hub.challenge") or "")
        log.warning("messenger webhook handshake refused (wrong mode or verify token)")
        return PlainTextResponse("forbidden", 403)

    async def receive(request: Request) -> Response:
        try:
            body = await request.body()  # bounded by the server's body limit (413 while streaming)
        except ClientDisconnect:
            return Response(status_code=400)
        if not verify_signature(body, request.headers.get(SIGNATURE_HEADER), app_secret):
            log.warning("messenger webhook call with a missing or wrong signature from %s",
                        request.client.host if request.client else "?")
            return JSONResponse({"error": "bad signature"}, 401)
        try:
            data = read_json(body)
        except ValueError:
            log.warning("messenger webhook: unreadable event body")
            return JSONResponse({"error": "unreadable"}, 400)
        events = parse_events(data)
        if events:
            await submit(events)  # recorded before the 200
        return JSONResponse({"ok": True})

    return [Route(path, handshake, methods=["GET"]), Route(path, receive, methods=["POST"])]
