"""Receiving from Zalo: the signature check, event parsing and the ``POST /zalo/webhook`` route.

Zalo signs every event: ``X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>``.
Public sources disagree on whether the timestamp is the body's ``timestamp`` field or an
``X-ZEvent-Timestamp`` header, so both are tried (the log says which one matched). A missing or wrong
signature gets 401 and nothing else happens; a good one gets 200 at once and the event is processed after.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

ZALO_WEBHOOK_PATH = "/zalo/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"
MAX_BODY_BYTES = 1_000_000

_seen_sources: set[str] = set()


def sign(*, app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """The hex SHA-256 Zalo sends: of ``app_id + body + timestamp + secret``."""
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(secret.encode("utf-8"))
    return digest.hexdigest()


def _body_timestamp(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("timestamp") if isinstance(data, dict) else None
    return None if value is None or isinstance(value, dict | list) else str(value)


def verify_signature(
    *, body: bytes, signature: str | None, app_id: str, secret: str, header_timestamp: str | None = None
) -> str | None:
    """Which timestamp made the signature match (``"body"`` or ``"header"``), or None when none did."""
    if not signature:
        return None
    given = signature.strip()
    if given.lower().startswith("mac="):
        given = given[4:].strip()
    given = given.lower()
    candidates = (("body", _body_timestamp(body)), ("header", header_timestamp))
    for source, timestamp in candidates:
        if timestamp is None:
            continue
        expected = sign(app_id=app_id, body=body, timestamp=timestamp, secret=secret)
        if hmac.compare_digest(given.encode("ascii", "replace"), expected.encode("ascii")):
            return source
    return None


@dataclass(frozen=True)
class ZaloEventIn:
    """The parts of a webhook event the bot uses."""

    name: str
    user_id: str | None  # the citizen: sender (messages), follower (follow/unfollow)
    text: str | None = None
    msg_id: str | None = None
    timestamp: str | None = None

    @property
    def key(self) -> str:
        """The de-duplication key: ``msg_id`` for messages, name + user + time for the rest."""
        if self.msg_id:
            return f"msg:{self.msg_id}"[:160]
        return f"{self.name}:{self.user_id or '-'}:{self.timestamp or '-'}"[:160]


def _str(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def parse_event(data: dict[str, Any]) -> ZaloEventIn:
    """Pick the event name, the citizen's id, the text and the ``msg_id`` out of one webhook body."""
    name = str(data.get("event_name") or "")
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    follower = data.get("follower") if isinstance(data.get("follower"), dict) else {}
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    assert isinstance(sender, dict) and isinstance(follower, dict) and isinstance(message, dict)
    user = _str(follower.get("id")) if name in ("follow", "unfollow") else None
    user = user or _str(sender.get("id")) or _str(data.get("user_id_by_app"))
    return ZaloEventIn(
        name=name,
        user_id=user,
        text=_str(message.get("text")),
        msg_id=_str(message.get("msg_id")),
        timestamp=_str(data.get("timestamp")),
    )


def zalo_webhook_route(
    submit: Callable[[ZaloEventIn], Awaitable[None]], *, app_id: str, secret: str, path: str = ZALO_WEBHOOK_PATH
) -> Route:
    """``POST`` route: check the signature (401 when wrong), hand the event to ``submit`` (which records it),
    then answer 200; the event is answered in the background."""

    async def zalo_webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "too large"}, 413)
        source = verify_signature(
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            app_id=app_id,
            secret=secret,
            header_timestamp=request.headers.get(TIMESTAMP_HEADER),
        )
        if source is None:
            log.warning("zalo webhook call with a missing or wrong signature from %s",
                        request.client.host if request.client else "?")
            return JSONResponse({"error": "bad signature"}, 401)
        level = logging.DEBUG if source in _seen_sources else logging.INFO
        _seen_sources.add(source)
        log.log(level, "zalo webhook signature matched with the %s timestamp", source)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            log.warning("zalo webhook: unreadable event body")
            return JSONResponse({"error": "unreadable"}, 400)
        await submit(parse_event(data))  # recorded before the 200
        return JSONResponse({"error": 0})

    return Route(path, zalo_webhook, methods=["POST"])
