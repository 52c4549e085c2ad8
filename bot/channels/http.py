"""The bot's one HTTP server (Starlette + uvicorn): ``GET /healthz``, ``GET /metrics`` and the webhook routes.

Routes are a plain list, so Zalo's webhook can sit beside Telegram's. The server runs inside the bot's
event loop and leaves signal handling to the composition root.

Every route is behind :class:`BodyLimit`: a body larger than ``HTTP_MAX_BODY_BYTES`` is refused with 413 from its
``Content-Length`` or, while it streams in, as soon as it passes the limit, before any route parses or verifies
it. ``/metrics`` answers only callers presenting ``HTTP_METRICS_TOKEN`` as a bearer token, or, without that
setting, only callers on the same host. uvicorn configures no logging of its own: its lines go through the
bot's handlers, redaction and format.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from telegram import Update

from bot import metrics
from bot.settings import Settings

log = logging.getLogger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000  # the default of HTTP_MAX_BODY_BYTES
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def telegram_webhook_secret(settings: Settings) -> str:
    """``TELEGRAM_WEBHOOK_SECRET``, or one derived from the token so every instance agrees."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_bot_token is None:
        raise ValueError("a webhook secret needs TELEGRAM_BOT_TOKEN or TELEGRAM_WEBHOOK_SECRET")
    token = settings.telegram_bot_token.get_secret_value().encode("utf-8")
    return hmac.new(token, b"telegram-webhook", hashlib.sha256).hexdigest()[:32]


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes``, from ``Content-Length`` or while reading.

    A malformed ``Content-Length`` gets 400. The route never sees more than ``max_bytes`` of body, so a huge
    unsigned request costs no memory and no signature work.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the body as it arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", []) if k == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                length = -1
            if length < 0 or len(declared) > 1:
                await JSONResponse({"error": "bad content-length"}, 400)(scope, receive, send)
                return
            if length > self.max_bytes:
                await JSONResponse({"error": "too large"}, 413)(scope, receive, send)
                return
        received = 0
        limit = self.max_bytes

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # handled by Starlette's exception middleware: a 413 response
                    raise HTTPException(413, "too large")
            return message

        await self.app(scope, limited, send)


def read_json(body: bytes) -> Any:
    """``body`` parsed as JSON; ``ValueError`` for anything unreadable (bad UTF-8, junk, nesting too deep)."""
    try:
        return json.loads(body)
    except RecursionError as err:
        raise ValueError("JSON nested too deeply") from err
    except (UnicodeDecodeError, TypeError) as err:
        raise ValueError("not JSON") from err


def health_route(check: HealthCheck) -> Route:
    """``GET /healthz``: 200 with details when ``check`` says healthy, else 503."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            ok, details = await check()
        except Exception:  # a broken check is an unhealthy service, not a crashed server
            log.exception("health check failed")
            ok, details = False, {}
        return JSONResponse({"status": "ok" if ok else "unavailable", **details}, 200 if ok else 503)

    return Route("/healthz", healthz, methods=["GET"])


def metrics_route(token: str | None = None) -> Route:
    """``GET /metrics``: the bot's counters and gauges in the Prometheus text format.

    With ``token`` only a caller sending ``Authorization: Bearer <token>`` gets them; without, only a caller on
    the same host (a sidecar or ``docker exec``); everyone else gets 401/403.
    """
    expected = f"Bearer {token}".encode() if token else None

    async def metrics_endpoint(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, expected):
                return JSONResponse({"error": "unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"})
        elif (request.client.host if request.client else "") not in LOOPBACK:
            return JSONResponse({"error": "forbidden: set HTTP_METRICS_TOKEN to scrape from elsewhere"}, 403)
        return Response(metrics.render(), 200, media_type=metrics.CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics_endpoint, methods=["GET"])


def telegram_webhook_route(application: Any, secret: str, path: str = TELEGRAM_WEBHOOK_PATH) -> Route:
    """``POST`` route feeding Telegram updates into ``application.update_queue`` after checking the secret."""
    expected = secret.encode("utf-8")

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            log.warning(
                "telegram webhook call with a missing or wrong secret from %s",
                request.client.host if request.client else "?",
            )
            return JSONResponse({"ok": False}, 401)
        body = await request.body()
        try:
            data = read_json(body)
            if not isinstance(data, dict) or "update_id" not in data:
                raise ValueError("not an update")
            update = Update.de_json(data, application.bot)
        except Exception:  # anything unreadable is the sender's problem, never a crash
            log.warning("telegram webhook: unreadable update")
            return JSONResponse({"ok": False}, 400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(path, telegram_webhook, methods=["POST"])


def build_http_app(routes: Sequence[BaseRoute], *, max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    """The Starlette app over ``routes`` (health check, metrics and webhooks), bodies bounded by
    ``max_body_bytes``."""
    return Starlette(routes=list(routes), middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes)])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the composition root owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Runs a Starlette app in the current event loop; ``start`` binds (raising on a busy port)."""

    def __init__(self, app: Starlette, *, host: str = "0.0.0.0", port: int = 8080) -> None:
        self.host, self.port = host, port
        # log_config=None: uvicorn installs no handlers, so its lines (tracebacks included) reach the root
        # handler with the bot's redaction and format.
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                access_log=False, log_config=None)
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind the port and start serving in the background."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("HTTP server stopped during startup")
            await asyncio.sleep(0.01)
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop serving and wait for the server task."""
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await asyncio.wait_for(self._task, 5)
            except TimeoutError:
                self._server.force_exit = True
                self._task.cancel()
        self._task = None
