"""Receiving from Zalo: the signature check, event parsing and the ``POST /zalo/webhook`` route.

Zalo signs every event: ``X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>``.
Public sources disagree on whether the timestamp is the body's ``timestamp`` field or an
``X-ZEvent-Timestamp`` header, so both are tried (the log says which one matched). A missing or wrong
signature gets 401 and nothing else happens; a good one gets 200 at once and the event is processed after.

An event whose timestamp is older than ``ZALO_EVENT_MAX_AGE_SECONDS`` (or more than five minutes ahead) is refused
with 400, so a captured event cannot be replayed after its de-duplication key was pruned (keys live 7 days, the
window is at most that). Bodies are bounded by the HTTP server before this route reads them, and any unreadable
body (junk, bad UTF-8, JSON nested too deeply) gets 400.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.http import read_json

log = logging.getLogger(__name__)

ZALO_WEBHOOK_PATH = "/zalo/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"
DEFAULT_MAX_AGE_SECONDS = 3600.0
MAX_AHEAD_SECONDS = 300.0  # clocks differ a little; an event from further in the future is forged

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
        data = read_json(body)
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
        """The de-duplication key: ``msg_id`` for messages; otherwise name + user + time + a digest of the text,
        so two different texts in the same millisecond are two events while a re-sent one is the same."""
        if self.msg_id:
            return f"msg:{self.msg_id}"[:160]
        digest = hashlib.sha256((self.text or "").encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"{self.name}:{(self.user_id or '-')[:64]}:{(self.timestamp or '-')[:20]}:{digest}"


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


def event_age(timestamp: str | None, now: float) -> float | None:
    """Seconds since the event's millisecond ``timestamp`` (negative: from the future); None when unreadable."""
    if timestamp is None or not timestamp.strip().isdigit() or len(timestamp.strip()) > 15:
        return None
    return now - int(timestamp.strip()) / 1000


def zalo_webhook_route(
    submit: Callable[[ZaloEventIn], Awaitable[None]],
    *,
    app_id: str,
    secret: str,
    path: str = ZALO_WEBHOOK_PATH,
    max_age: float = DEFAULT_MAX_AGE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> Route:
    """``POST`` route: check the signature (401 when wrong) and freshness (400 when stale), hand the event to
    ``submit`` (which records it), then answer 200; the event is answered in the background."""

    async def zalo_webhook(request: Request) -> Response:
        body = await request.body()
        source = verify_signature(
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            app_id=app_id,
            secret=secret,
            header_timestamp=request.headers.get(TIMESTAMP_HEADER),
        )
        if source is None:
            log.warning(
                "zalo webhook call with a missing or wrong signature from %s",
                request.client.host if request.client else "?",
            )
            return JSONResponse({"error": "bad signature"}, 401)
        level = logging.DEBUG if source in _seen_sources else logging.INFO
        _seen_sources.add(source)
        log.log(level, "zalo webhook signature matched with the %s timestamp", source)
        try:
            data = read_json(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            event = parse_event(data)
        except ValueError:
            log.warning("zalo webhook: unreadable event body")
            return JSONResponse({"error": "unreadable"}, 400)
        timestamp = event.timestamp if source == "body" else request.headers.get(TIMESTAMP_HEADER)
        age = event_age(timestamp, clock())
        if age is None or age > max_age or age < -MAX_AHEAD_SECONDS:
            log.warning("zalo webhook: refused a %s event outside the freshness window (age %s s)",
                        event.name or "?", "unknown" if age is None else round(age))
            return JSONResponse({"error": "stale"}, 400)
        await submit(event)  # recorded before the 200
        return JSONResponse({"error": 0})

    return Route(path, zalo_webhook, methods=["POST"])
