"""A small fake Zalo OA API + OAuth server on 127.0.0.1, and signed webhook events in Zalo's documented shapes.

The server (uvicorn + Starlette in a background thread) answers

- ``POST /v3.0/oa/message/cs`` (header ``access_token``): checks the token, the recipient and the message
  (text ≤ 2,000 characters; template buttons ≤ 5, title ≤ 100, payload ≤ 1,000) and records it;
- ``POST /v4/oa/access_token`` (form ``refresh_token``, ``app_id``, ``grant_type``; header ``secret_key``):
  issues new tokens once per refresh token, optionally after a delay (to widen races).

Tests configure errors: expire the current access token, refuse refreshes with a code, fail the next sends or
every send to one user with a Zalo code, or inject transport faults (``faults``: 429, 500, connection resets
before and after delivery, slow answers; see ``tests.fakes.faults``). Both endpoints share one base URL,
usable as ``ZALO_API_BASE_URL`` and ``ZALO_OAUTH_BASE_URL``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.faults import BrokenResponse, Faults
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_api import free_port

TEXT_LIMIT = 2000
MAX_BUTTONS = 5
BUTTON_TYPES = {"oa.query.hide", "oa.query.show", "oa.open.url", "oa.open.phone", "oa.open.sms"}


@dataclass
class SentCall:
    """One call to the message API."""

    user_id: str
    message: dict[str, Any]
    token: str
    error: int
    at: float

    @property
    def text(self) -> str:
        """The message text."""
        return str(self.message.get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The template buttons, if any."""
        attachment = self.message.get("attachment") or {}
        return list((attachment.get("payload") or {}).get("buttons") or [])


@dataclass
class RefreshCall:
    """One call to the OAuth refresh endpoint."""

    refresh_token: str
    app_id: str
    secret_key: str
    grant_type: str
    error: int
    at: float


@dataclass
class FakeZalo:
    """A fake Zalo OA API; start with ``start()`` or use as a context manager."""

    app_id: str = "1234567890"
    app_secret: str = "app-secret-TEST"
    access_token: str = "access-0"
    refresh_token: str = "refresh-0"
    refresh_delay: float = 0.0
    expires_in: int = 90000
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.port = 0
        self.sends: list[SentCall] = []
        self.refreshes: list[RefreshCall] = []
        self.valid_access: set[str] = {self.access_token}
        self.valid_refresh: set[str] = {self.refresh_token}
        self.refuse_refresh_code: int | None = None
        self.send_errors: deque[tuple[int, int]] = deque()  # (HTTP status, Zalo error) for the next sends
        self.user_errors: dict[str, int] = {}
        self.reject_templates = False
        self.faults = Faults()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadedServer | None = None

    # ----- lifecycle -------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The value for ``ZALO_API_BASE_URL`` and ``ZALO_OAUTH_BASE_URL``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeZalo:
        """Start serving in a background thread and wait until it accepts connections."""
        self.port = self.port or free_port()
        app = Starlette(routes=[
            Route("/v3.0/oa/message/cs", self._send, methods=["POST"]),
            Route("/v4/oa/access_token", self._refresh, methods=["POST"]),
        ])  # fmt: skip
        self._server = ThreadedServer(app, host=self.host, port=self.port, name="fake-zalo")
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> FakeZalo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- configuring errors ----------------------------------------------------------------------------

    def expire_access_token(self) -> None:
        """Make every access token issued so far invalid (the next send gets -216)."""
        with self._lock:
            self.valid_access.clear()

    def fail_next_send(self, error: int, status: int = 200) -> None:
        """Answer the next send with ``error`` (and HTTP ``status``)."""
        self.send_errors.append((status, error))

    # ----- reading what happened -------------------------------------------------------------------------

    def sent_to(self, user_id: str) -> list[SentCall]:
        """Successful sends to ``user_id``."""
        return [c for c in self.sends if c.user_id == user_id and c.error == 0]

    def delivered(self) -> list[SentCall]:
        """Every successful send."""
        return [c for c in self.sends if c.error == 0]

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        """Wait (asynchronously) until ``predicate()`` is true; raise TimeoutError otherwise."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; {len(self.sends)} sends, {len(self.refreshes)} refreshes")
            await asyncio.sleep(0.005)

    async def wait_for_sent(self, user_id: str, count: int, within: float = 10.0) -> list[SentCall]:
        """Wait until ``user_id`` received at least ``count`` messages; return them all."""
        await self.wait_for(lambda: len(self.sent_to(user_id)) >= count, within)
        return self.sent_to(user_id)

    # ----- endpoints -------------------------------------------------------------------------------------

    def _answer(self, user_id: str, message: Any, token: str, status: int, error: int, text: str) -> JSONResponse:
        with self._lock:
            self.sends.append(
                SentCall(user_id, message if isinstance(message, dict) else {}, token, error, time.monotonic())
            )
        if error == 0:
            data = {"message_id": f"m{next(self._counter)}", "user_id": user_id}
            return JSONResponse({"data": data, "error": 0, "message": "Success"}, status)
        return JSONResponse({"error": error, "message": text}, status)

    async def _send(self, request: Request) -> Response:
        token = request.headers.get("access_token", "")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._answer("", {}, token, 200, -201, "body is not JSON")
        user_id = str(((body.get("recipient") or {}).get("user_id")) or "")
        message = body.get("message")
        if token not in self.valid_access:
            return self._answer(user_id, message, token, 200, -216, "Access token is invalid")
        if self.send_errors:
            status, error = self.send_errors.popleft()
            return self._answer(user_id, message, token, status, error, "configured failure")
        if user_id in self.user_errors:
            return self._answer(user_id, message, token, 200, self.user_errors[user_id], "configured user failure")
        problem = self._check_message(message)
        if problem is not None:
            return self._answer(user_id, message, token, 200, -201, problem)
        fault = self.faults.next()
        if fault == "429":
            return self._answer(user_id, message, token, 429, -32, "fault injected: rate exceeded")
        if fault == "500":
            return self._answer(user_id, message, token, 500, -1, "fault injected: internal error")
        if fault == "reset_before":
            return BrokenResponse()
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_seconds)
        answer = self._answer(user_id, message, token, 200, 0, "")
        return BrokenResponse() if fault == "reset_after" else answer

    def _check_message(self, message: Any) -> str | None:
        if not user_text_ok(message):
            return "message.text is missing, empty or longer than 2000 characters"
        attachment = message.get("attachment")
        if attachment is None:
            return None
        if self.reject_templates:
            return "template not allowed"
        buttons = ((attachment.get("payload") or {}).get("buttons")) if isinstance(attachment, dict) else None
        if attachment.get("type") != "template" or not isinstance(buttons, list) or not buttons:
            return "attachment is not a template with buttons"
        if len(buttons) > MAX_BUTTONS:
            return "too many buttons"
        for b in buttons:
            if b.get("type") not in BUTTON_TYPES or not 0 < len(str(b.get("title", ""))) <= 100:
                return "bad button type or title"
            payload = b.get("payload")
            if b["type"] == "oa.open.url":
                if not isinstance(payload, dict) or not str(payload.get("url", "")).startswith("http"):
                    return "oa.open.url needs payload.url"
            elif not isinstance(payload, str) or not 0 < len(payload) <= 1000:
                return "query payload must be 1..1000 characters"
        return None

    async def _refresh(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in urllib.parse.parse_qs((await request.body()).decode()).items()}
        refresh_token = str(form.get("refresh_token", ""))
        call = RefreshCall(
            refresh_token,
            str(form.get("app_id", "")),
            request.headers.get("secret_key", ""),
            str(form.get("grant_type", "")),
            0,
            time.monotonic(),
        )
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        with self._lock:
            error = 0
            if call.secret_key != self.app_secret or call.app_id != self.app_id:
                error = -14002
            elif call.grant_type != "refresh_token":
                error = -14003
            elif self.refuse_refresh_code is not None:
                error = self.refuse_refresh_code
            elif refresh_token not in self.valid_refresh:
                error = -14020
            call.error = error
            self.refreshes.append(call)
            if error:
                return JSONResponse(
                    {
                        "error": error,
                        "error_name": "Invalid refresh token",
                        "error_description": "refresh token is invalid or used",
                    },
                    200,
                )
            self.valid_refresh.discard(refresh_token)
            n = next(self._counter)
            self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"
            self.valid_access.add(self.access_token)
            self.valid_refresh.add(self.refresh_token)
            return JSONResponse(
                {
                    "access_token": self.access_token,
                    "refresh_token": self.refresh_token,
                    "expires_in": str(self.expires_in),
                }
            )


def user_text_ok(message: Any) -> bool:
    """True when ``message`` has a non-empty text within Zalo's limit."""
    if not isinstance(message, dict):
        return False
    text = message.get("text")
    return isinstance(text, str) and 0 < len(text) <= TEXT_LIMIT


# ----- webhook events, as Zalo sends them ------------------------------------------------------------------


def zalo_signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """``mac=`` + hex SHA-256 of app_id + body + timestamp + OA secret key."""
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


def text_event(
    app_id: str,
    user_id: str,
    text: str,
    msg_id: str,
    *,
    oa_id: str = "579745863508352884",
    timestamp: str | None = None,
) -> dict[str, Any]:
    """A ``user_send_text`` event."""
    return {
        "app_id": app_id,
        "user_id_by_app": f"app-{user_id}",
        "event_name": "user_send_text",
        "timestamp": timestamp or str(int(time.time() * 1000)),
        "sender": {"id": user_id},
        "recipient": {"id": oa_id},
        "message": {"text": text, "msg_id": msg_id},
    }


def follow_event(
    app_id: str, user_id: str, name: str = "follow", *, oa_id: str = "579745863508352884", timestamp: str | None = None
) -> dict[str, Any]:
    """A ``follow`` or ``unfollow`` event."""
    return {
        "app_id": app_id,
        "oa_id": oa_id,
        "user_id_by_app": f"app-{user_id}",
        "event_name": name,
        "timestamp": timestamp or str(int(time.time() * 1000)),
        "source": "oa_profile",
        "follower": {"id": user_id},
    }


@dataclass
class SignedEvent:
    """A webhook request ready to post: raw body and headers."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def sign_event(
    event: dict[str, Any], *, app_id: str, secret: str, timestamp_from: str = "body", prefix: str = "mac="
) -> SignedEvent:
    """Sign ``event`` with the body's ``timestamp`` or with an ``X-ZEvent-Timestamp`` header."""
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if timestamp_from == "header":
        timestamp = str(int(time.time() * 1000) + 7)
        headers["X-ZEvent-Timestamp"] = timestamp
    else:
        timestamp = str(event["timestamp"])
    signature = zalo_signature(app_id, body, timestamp, secret)
    headers["X-ZEvent-Signature"] = prefix + signature[len("mac=") :]
    return SignedEvent(body, headers)
