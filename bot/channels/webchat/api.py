"""The web chat's HTTP face: the widget's files, the staff demo page, and the chat API (Starlette routes).

Every API call is checked in this order: the ``Origin`` (an allowed portal or the bot's own pages; a browser on
any other site gets 403 before anything is processed), the client address's request rate, the body size, the visitor id,
and for messages the visitor's own rate. Visitor ids are random strings the widget keeps in ``sessionStorage``;
the bot stores only a hash of them, so a database row cannot be used to read a visitor's replies.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.channels.webchat.limits import RateLimiter
from bot.channels.webchat.outbox import Outbox, Queued

log = logging.getLogger(__name__)

API_PATH = "/webchat/api/messages"
MAX_BODY_BYTES = 16_384  # a 4,000-character question in Vietnamese is about 12 KB of UTF-8
MAX_BUTTON_DATA = 64
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

REQUESTS = Counter(
    "troly_webchat_requests",
    "Web chat API calls by kind (send, fetch, preflight) and outcome (ok, origin, rate, size, invalid, error).",
    ["kind", "outcome"],
    registry=metrics.REGISTRY,
)
REPLIES = Counter(
    "troly_webchat_replies",
    "Replies queued for web chat visitors.",
    registry=metrics.REGISTRY,
)

Process = Callable[[str, str | None, str | None, str | None], Awaitable[None]]


def visitor_key(visitor: str) -> str:
    """The id the bot stores for a visitor: a hash of the widget's random id (which stays a secret)."""
    return "v" + hashlib.sha256(b"webchat:" + visitor.encode("ascii")).hexdigest()[:32]


def static_text(name: str) -> str:
    """A file shipped in this package's ``static`` folder."""
    return resources.files("bot.channels.webchat").joinpath("static", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Asset:
    """A static file kept in memory, plain and gzipped."""

    body: bytes
    gzipped: bytes
    media_type: str

    @classmethod
    def of(cls, text: str, media_type: str) -> Asset:
        """The asset for ``text``."""
        body = text.encode("utf-8")
        return cls(body, gzip.compress(body, 9, mtime=0), media_type)

    def response(self, request: Request, headers: dict[str, str]) -> Response:
        """The asset, gzipped when the client accepts it."""
        headers = {**headers, "Vary": "Accept-Encoding", "X-Content-Type-Options": "nosniff"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(self.gzipped, media_type=self.media_type, headers={**headers, "Content-Encoding": "gzip"})
        return Response(self.body, media_type=self.media_type, headers=headers)


def widget_script(ui_texts: dict[str, str]) -> str:
    """widget.js with the widget's Vietnamese texts filled in."""
    return static_text("widget.js").replace("__TEXTS__", json.dumps(ui_texts, ensure_ascii=False))


def queued_json(items: list[Queued]) -> dict[str, Any]:
    """The API's answer: the messages in order and the last id."""
    return {"messages": [{"id": q.id, **q.payload} for q in items], "last": items[-1].id if items else None}


class WebChatApi:
    """Builds the routes; ``process(visitor_key, text, button_data, message_id)`` runs one message through the
    handlers (a message id seen before for that visitor is not run again: the widget's retry after a lost
    response)."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        process: Process,
        allowed_origins: frozenset[str],
        ui_texts: dict[str, str],
        visitor_limit: RateLimiter,
        ip_limit: RateLimiter,
        proxy_hops: int = 0,
    ) -> None:
        self.outbox = outbox
        self.process = process
        self.allowed_origins = allowed_origins
        self.visitor_limit = visitor_limit
        self.ip_limit = ip_limit
        self.proxy_hops = proxy_hops
        self.script = Asset.of(widget_script(ui_texts), "application/javascript; charset=utf-8")
        self.style = Asset.of(static_text("widget.css"), "text/css; charset=utf-8")
        self.demo_style = Asset.of(static_text("demo.css"), "text/css; charset=utf-8")
        self.demo_page = static_text("demo.html")

    def routes(self) -> list[BaseRoute]:
        """``/widget.js``, ``/widget.css``, ``/demo`` (+ its stylesheet) and the chat API."""
        return [
            Route("/widget.js", self.widget_js, methods=["GET"]),
            Route("/widget.css", self.widget_css, methods=["GET"]),
            Route("/demo", self.demo, methods=["GET"]),
            Route("/webchat/demo.css", self.demo_css, methods=["GET"]),
            Route(API_PATH, self.api, methods=["GET", "POST", "OPTIONS"]),
        ]

    # ----- files ---------------------------------------------------------------------------------------------

    async def widget_js(self, request: Request) -> Response:
        """The widget script: any page may load it; only allowed origins may talk to the API."""
        return self.script.response(request, {"Cache-Control": "public, max-age=300",
                                              "Cross-Origin-Resource-Policy": "cross-origin"})

    async def widget_css(self, request: Request) -> Response:
        """The widget's styles (loaded into its shadow root)."""
        return self.style.response(request, {"Cache-Control": "public, max-age=300",
                                             "Cross-Origin-Resource-Policy": "cross-origin"})

    async def demo_css(self, request: Request) -> Response:
        """The demo page's own styles."""
        return self.demo_style.response(request, {"Cache-Control": "public, max-age=300"})

    async def demo(self, request: Request) -> Response:
        """A page for staff to try the widget, with the snippet to paste; strict Content Security Policy."""
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        page = self.demo_page.replace("__SNIPPET__", html.escape(f'<script src="{base}/widget.js" async></script>'))
        headers = {
            "Content-Security-Policy": DEMO_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    # ----- the chat API --------------------------------------------------------------------------------------

    def origin_allowed(self, request: Request) -> tuple[bool, str | None]:
        """(allowed, the origin to echo in CORS headers). No Origin header: not a cross-site browser call."""
        origin = request.headers.get("origin")
        if origin is None:
            return True, None
        normalized = origin.strip().rstrip("/").lower()
        if normalized in self.allowed_origins:
            return True, origin
        own_host = request.headers.get("host", "").lower()
        if own_host and urlsplit(normalized).netloc == own_host:
            return True, origin
        return False, None

    def client_address(self, request: Request) -> str:
        """The visitor's address: with ``proxy_hops`` trusted proxies in front, the one the outermost proxy saw.

        Only the entries our own proxies appended to ``X-Forwarded-For`` are trusted (counted from the right);
        anything further left was written by the client and could be anything."""
        peer = request.client.host if request.client else "-"
        if self.proxy_hops <= 0:
            return peer
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
        return forwarded[-self.proxy_hops] if len(forwarded) >= self.proxy_hops else peer

    @staticmethod
    def _cors(origin: str | None) -> dict[str, str]:
        headers = {"Cache-Control": "no-store", "Vary": "Origin"}
        if origin is not None:
            headers |= {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "600",
            }
        return headers

    def _refuse(self, kind: str, outcome: str, status: int, cors: dict[str, str], **extra: str) -> JSONResponse:
        REQUESTS.labels(kind=kind, outcome=outcome).inc()
        return JSONResponse({"error": outcome}, status, headers={**cors, **extra})

    async def api(self, request: Request) -> Response:
        """``GET`` (what follows ``after``), ``POST`` (a message or a button, then what follows) and preflight."""
        kind = {"GET": "fetch", "POST": "send"}.get(request.method, "preflight")
        allowed, origin = self.origin_allowed(request)
        if not allowed:
            log.info("web chat call refused: origin not allowed")
            # Nothing was processed; letting that page read the 403 lets the widget say why it cannot help.
            readable = {"Access-Control-Allow-Origin": request.headers["origin"], "Vary": "Origin"}
            return self._refuse(kind, "origin", 403, readable)
        cors = self._cors(origin)
        if kind == "preflight":
            REQUESTS.labels(kind=kind, outcome="ok").inc()
            return Response(status_code=204, headers=cors)
        address = self.client_address(request)
        if not self.ip_limit.hit(address):
            wait = str(max(1, round(self.ip_limit.retry_after(address))))
            return self._refuse(kind, "rate", 429, cors, **{"Retry-After": wait})
        try:
            if kind == "fetch":
                visitor = request.query_params.get("visitor", "")
                after = int(request.query_params.get("after", "0") or 0)
                text = button = mid = None
            else:
                body = await _read_limited(request, MAX_BODY_BYTES)
                if body is None:
                    return self._refuse(kind, "size", 413, cors)
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                visitor = str(data.get("visitor", ""))
                after = int(data.get("after") or 0)
                text, button, mid = data.get("text"), data.get("button"), data.get("mid")
                if mid is not None and not (isinstance(mid, str) and MESSAGE_ID.match(mid)):
                    raise ValueError("message id")
                if (text is None) == (button is None) or not isinstance(text or button, str):
                    raise ValueError("one of text or button")
                if button is not None and not 0 < len(button.encode("utf-8")) <= MAX_BUTTON_DATA:
                    raise ValueError("button data")
        except (ValueError, UnicodeDecodeError):
            return self._refuse(kind, "invalid", 400, cors)
        if not VISITOR_ID.match(visitor):
            return self._refuse(kind, "invalid", 400, cors)
        key = visitor_key(visitor)
        if kind == "send":
            if not self.visitor_limit.hit(key):
                wait = str(max(1, round(self.visitor_limit.retry_after(key))))
                return self._refuse(kind, "rate", 429, cors, **{"Retry-After": wait})
            try:
                await self.process(key, text, button, mid)
            except Exception:
                log.exception("web chat message failed")
                return self._refuse(kind, "error", 500, cors)
        queued = await asyncio.to_thread(self.outbox.after, key, after)
        REQUESTS.labels(kind=kind, outcome="ok").inc()
        return JSONResponse(queued_json(queued), headers=cors)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past ``limit`` bytes (whatever Content-Length says)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
