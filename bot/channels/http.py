"""The bot's one HTTP server (Starlette + uvicorn): ``GET /healthz``, ``GET /metrics`` and the webhook routes.

Routes are a plain list, so Zalo's webhook can sit beside Telegram's. The server runs inside the bot's
event loop and leaves signal handling to the composition root.
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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update

from bot import metrics
from bot.settings import Settings

log = logging.getLogger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1_000_000

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


def telegram_webhook_secret(settings: Settings) -> str:
    """``TELEGRAM_WEBHOOK_SECRET``, or one derived from the token so every instance agrees."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_bot_token is None:
        raise ValueError("a webhook secret needs TELEGRAM_BOT_TOKEN or TELEGRAM_WEBHOOK_SECRET")
    token = settings.telegram_bot_token.get_secret_value().encode("utf-8")
    return hmac.new(token, b"telegram-webhook", hashlib.sha256).hexdigest()[:32]


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


def metrics_route() -> Route:
    """``GET /metrics``: the bot's counters and gauges in the Prometheus text format."""

    async def metrics_endpoint(request: Request) -> Response:
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
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"ok": False}, 413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or "update_id" not in data:
                raise ValueError("not an update")
            update = Update.de_json(data, application.bot)
        except Exception:  # anything unreadable is the sender's problem, never a crash
            log.warning("telegram webhook: unreadable update")
            return JSONResponse({"ok": False}, 400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(path, telegram_webhook, methods=["POST"])


def build_http_app(routes: Sequence[BaseRoute]) -> Starlette:
    """The Starlette app over ``routes`` (health check, metrics and webhooks)."""
    return Starlette(routes=list(routes))


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the composition root owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Runs a Starlette app in the current event loop; ``start`` binds (raising on a busy port)."""

    def __init__(self, app: Starlette, *, host: str = "0.0.0.0", port: int = 8080) -> None:
        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False)
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
