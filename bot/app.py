"""The composition root: settings → logging → services → channels (terminal, or Telegram + HTTP server).

``run(settings)`` picks the mode from the settings (INTERFACE §2 ``run``): no token → terminal chat; a token →
Telegram long polling; a token and ``TELEGRAM_WEBHOOK_URL`` → webhook. In both Telegram modes one HTTP server
serves ``/healthz`` (and the webhook), the knowledge folder is watched for edits, and SIGTERM/SIGINT stop
everything cleanly with exit code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import signal
import sys
from typing import Any

from sqlalchemy import text
from starlette.routing import BaseRoute

from bot.channels.http import (
    TELEGRAM_WEBHOOK_PATH,
    HttpServer,
    build_http_app,
    health_route,
    telegram_webhook_route,
    telegram_webhook_secret,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]  # the update types the bot handles


class _RedactFilter(logging.Filter):
    """Replaces secrets (the bot token) in every log record; request URLs carry the token."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Log to stderr at ``LOG_LEVEL`` in ``LOG_FORMAT`` (text or json), never showing the token."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format.lower() == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    handler.addFilter(_RedactFilter([token]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines contain the token
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def run(settings: Settings) -> int:
    """Start the bot in the mode the settings ask for; return the process exit code."""
    configure_logging(settings)
    from bot.services import build_services

    services = build_services(settings)
    if settings.telegram_bot_token is None:
        try:
            from bot.channels.terminal import run_terminal

            result: Any = run_terminal(services)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            return int(result or 0)
        finally:
            services.close()
    try:
        return asyncio.run(serve_telegram(settings, services))
    except KeyboardInterrupt:
        return 0


def services_health(services: Any) -> Any:
    """A health check: the database answers ``SELECT 1`` and the knowledge base is loaded."""

    def ping_database() -> bool:
        try:
            with services.sessions() as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:
            log.exception("database health check failed")
            return False

    async def check() -> tuple[bool, dict[str, Any]]:
        db_ok = await asyncio.to_thread(ping_database)
        try:
            entries: int | None = len(services.knowledge.kb.entries)
        except Exception:
            log.exception("knowledge base health check failed")
            entries = None
        details = {"database": db_ok, "knowledge_loaded": entries is not None, "knowledge_entries": entries or 0}
        return db_ok and entries is not None, details

    return check


async def serve_telegram(
    settings: Settings,
    services: Any,
    *,
    stop: asyncio.Event | None = None,
    host: str = "0.0.0.0",
    concurrent_updates: int = 16,
    handle: Any = None,
) -> int:
    """Run Telegram (polling or webhook) and the HTTP server until ``stop`` is set or SIGTERM/SIGINT.

    ``handle`` replaces ``handlers.routes.handle`` (benchmarks measure the channel alone with it).
    """
    from bot.channels.telegram import TelegramChannel, TelegramSender
    from handlers.broadcast_staff import start_broadcasting

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    watcher: asyncio.Task[None] | None = None

    async def post_init(application: Any) -> None:
        nonlocal watcher
        if hasattr(services.knowledge, "watch"):
            watcher = asyncio.create_task(services.knowledge.watch(), name="knowledge-watcher")

    async def post_shutdown(application: Any) -> None:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        services.close()

    webhook = settings.telegram_webhook_url
    channel = TelegramChannel(settings, services, handle=handle, post_init=post_init, post_shutdown=post_shutdown)
    application = channel.build_application(webhook=webhook is not None, concurrent_updates=concurrent_updates)
    routes: list[BaseRoute] = [health_route(services_health(services))]
    secret = ""
    if webhook is not None:
        secret = telegram_webhook_secret(settings)
        routes.append(telegram_webhook_route(application, secret))
    server = HttpServer(build_http_app(routes), host=host, port=settings.http_port)

    code = 0
    broadcasting = None
    try:
        await application.initialize()
        if application.post_init is not None:  # what run_polling would do; we run the lifecycle ourselves
            await application.post_init(application)
        await server.start()
        await application.start()
        broadcasting = await start_broadcasting(services, {"telegram": TelegramSender(application.bot)})
        if webhook is not None:
            url = webhook.rstrip("/")
            if not url.endswith(TELEGRAM_WEBHOOK_PATH):
                url += TELEGRAM_WEBHOOK_PATH
            await application.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram webhook mode")
        else:
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram long-polling mode")
        await stop.wait()
        log.info("stopping")
    except Exception:
        log.exception("the bot stopped because of an error")
        code = 1
    finally:
        if broadcasting is not None:
            await broadcasting.stop()
        await server.stop()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        with contextlib.suppress(Exception):
            await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        for sig in installed:
            loop.remove_signal_handler(sig)
    return code

