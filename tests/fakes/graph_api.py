"""A small fake Graph API (Messenger Send API) on 127.0.0.1, and signed webhook bodies in Meta's documented shapes.

The server (uvicorn + Starlette in a background thread) answers ``POST /<version>/me/messages?access_token=…``:
it checks the token, the recipient, ``messaging_type`` and the message (text of 1..2,000 characters, at most 13
quick replies with titles of at most 20 characters and payloads of at most 1,000) or a ``sender_action``, and
records every call. Errors come back in the Graph API's shape
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``; tests queue them for the next sends or
fix one per recipient (a user who cannot be reached, a closed 24-hour window, an expired token).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_api import free_port

TEXT_LIMIT = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_TITLE = 20
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}

# (HTTP status, code, subcode, message): the Send API's real error answers
TOKEN_EXPIRED = (400, 190, 463, "Error validating access token: Session has expired.")
OUTSIDE_WINDOW = (400, 10, 2018278, "This message is sent outside of allowed window.")
UNAVAILABLE = (400, 551, 1545041, "This person isn't available right now.")
RATE_LIMITED = (400, 613, None, "Calls to this api have exceeded the rate limit.")
TEMPORARY = (500, 1200, None, "Temporary send message failure. Please try again later")


@dataclass
class SendCall:
    """One call to the Send API."""

    recipient: str
    body: dict[str, Any]
    token: str
    error: int
    at: float

    @property
    def message(self) -> dict[str, Any]:
        """The ``message`` object (empty for sender actions)."""
        message = self.body.get("message")
        return message if isinstance(message, dict) else {}

    @property
    def text(self) -> str:
        """The message text."""
        return str(self.message.get("text", ""))

    @property
    def quick_replies(self) -> list[dict[str, Any]]:
        """The quick replies, if any."""
        return list(self.message.get("quick_replies") or [])

    @property
    def action(self) -> str | None:
        """The sender action (``typing_on``), if this call was one."""
        action = self.body.get("sender_action")
        return str(action) if action else None


class FakeGraph:
    """A fake Messenger Send API; start with ``start()`` or use as a context manager."""

    def __init__(self, page_token: str = "page-token-TEST", host: str = "127.0.0.1") -> None:
        self.page_token = page_token
        self.host = host
        self.port = 0
        self.calls: list[SendCall] = []
        self.next_errors: deque[tuple[int, int, int | None, str]] = deque()
        self.user_errors: dict[str, tuple[int, int, int | None, str]] = {}
        self.token_valid = True
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        """The value for ``MESSENGER_API_BASE_URL``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeGraph:
        """Start serving in a background thread and wait until it accepts connections."""
        self.port = self.port or free_port()
        app = Starlette(routes=[Route("/{version}/me/messages", self._send, methods=["POST"])])
        self._server = ThreadedServer(app, host=self.host, port=self.port, name="fake-graph")
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- reading what happened -------------------------------------------------------------------------

    def sent_to(self, psid: str) -> list[SendCall]:
        """Messages (not sender actions) delivered to ``psid``."""
        return [c for c in self.calls if c.recipient == psid and c.error == 0 and c.action is None]

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        """Wait (asynchronously) until ``predicate()`` is true; raise TimeoutError otherwise."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; {len(self.calls)} calls")
            await asyncio.sleep(0.005)

    async def wait_for_sent(self, psid: str, count: int, within: float = 10.0) -> list[SendCall]:
        """Wait until ``psid`` received at least ``count`` messages; return them all."""
        await self.wait_for(lambda: len(self.sent_to(psid)) >= count, within)
        return self.sent_to(psid)

    # ----- the endpoint ----------------------------------------------------------------------------------

    def _answer(self, psid: str, body: dict[str, Any], token: str,
                error: tuple[int, int, int | None, str] | None) -> JSONResponse:
        with self._lock:
            self.calls.append(SendCall(psid, body, token, error[1] if error else 0, time.monotonic()))
        if error is None:
            if body.get("sender_action"):
                return JSONResponse({"recipient_id": psid})
            return JSONResponse({"recipient_id": psid, "message_id": f"m_{next(self._counter)}"})
        status, code, sub, message = error
        detail: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                                  "fbtrace_id": "AbCdEf123"}
        if sub is not None:
            detail["error_subcode"] = sub
        return JSONResponse({"error": detail}, status)

    async def _send(self, request: Request) -> JSONResponse:
        token = request.query_params.get("access_token", "")
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._answer("", {}, token, (400, 100, None, "Invalid JSON"))
        recipient = body.get("recipient")
        psid = str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
        if token != self.page_token or not self.token_valid:
            return self._answer(psid, body, token, TOKEN_EXPIRED)
        if self.next_errors:
            return self._answer(psid, body, token, self.next_errors.popleft())
        if psid in self.user_errors:
            return self._answer(psid, body, token, self.user_errors[psid])
        problem = check_body(body)
        if problem is not None:
            return self._answer(psid, body, token, (400, 100, None, problem))
        return self._answer(psid, body, token, None)


def check_body(body: dict[str, Any]) -> str | None:
    """What the real Send API would refuse in ``body``, or None."""
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not recipient.get("id"):
        return "(#100) The parameter recipient is required"
    if body.get("sender_action"):
        return None if body["sender_action"] in {"typing_on", "typing_off", "mark_seen"} else "bad sender_action"
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return "(#100) messaging_type is required"
    if body["messaging_type"] == "MESSAGE_TAG" and not body.get("tag"):
        return "(#100) tag is required with MESSAGE_TAG"
    message = body.get("message")
    if not isinstance(message, dict):
        return "(#100) The parameter message is required"
    text = message.get("text")
    if not isinstance(text, str) or not 0 < len(text) <= TEXT_LIMIT:
        return "(#100) Length of param message[text] must be less than or equal to 2000"
    quick = message.get("quick_replies")
    if quick is not None:
        if not isinstance(quick, list) or not 0 < len(quick) <= MAX_QUICK_REPLIES:
            return "(#100) param message[quick_replies] must have at most 13 elements"
        for q in quick:
            if not isinstance(q, dict) or q.get("content_type") != "text":
                return "(#100) quick reply content_type must be text"
            if not 0 < len(str(q.get("title", ""))) <= MAX_QUICK_TITLE:
                return "(#100) quick reply title must be 1..20 characters"
            if not 0 < len(str(q.get("payload", ""))) <= 1000:
                return "(#100) quick reply payload must be 1..1000 characters"
    return None


# ----- webhook bodies, as Meta sends them ------------------------------------------------------------------

PAGE_ID = "104857600000001"


def signature(body: bytes, app_secret: str) -> str:
    """``sha256=`` + hex HMAC-SHA256 of the raw body keyed with the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def text_item(psid: str, text: str, mid: str, *, quick_payload: str | None = None) -> dict[str, Any]:
    """One ``messaging`` item for a typed text (or a tapped quick reply)."""
    message: dict[str, Any] = {"mid": mid, "text": text}
    if quick_payload is not None:
        message["quick_reply"] = {"payload": quick_payload}
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000),
            "message": message}


def postback_item(psid: str, payload: str, mid: str, title: str = "Chọn") -> dict[str, Any]:
    """One ``messaging`` item for a tapped postback button."""
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": int(time.time() * 1000),
            "postback": {"mid": mid, "title": title, "payload": payload}}


def page_body(*items: dict[str, Any], entries: int = 1) -> bytes:
    """A webhook body with ``items`` spread over ``entries`` entries (Meta batches both ways)."""
    groups: list[list[dict[str, Any]]] = [[] for _ in range(max(1, entries))]
    for n, item in enumerate(items):
        groups[n % len(groups)].append(item)
    data = {"object": "page", "entry": [
        {"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": group} for group in groups
    ]}  # fmt: skip
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
