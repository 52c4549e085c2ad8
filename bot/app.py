"""The composition root: settings → logging → services → channels (terminal, or Telegram + HTTP server).

``run(settings)`` picks the mode from the settings (INTERFACE §2 ``run``): no token → terminal chat; a token →
Telegram long polling; a token and ``TELEGRAM_WEBHOOK_URL`` → webhook. With Zalo configured (``ZALO_APP_ID`` and
a token) the Zalo OA webhook joins the same HTTP server, or runs alone without a Telegram token. In every
server mode one HTTP server serves ``/healthz`` and ``/metrics`` (and the webhooks), the knowledge folder is
watched for edits, and SIGTERM/SIGINT stop everything cleanly with exit code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from typing import Any

from sqlalchemy import text
from starlette.routing import BaseRoute

from bot.channels.http import (
    TELEGRAM_WEBHOOK_PATH,
    HttpServer,
    build_http_app,
    health_route,
    metrics_route,
    telegram_webhook_route,
    telegram_webhook_secret,
)
from bot.kb.store import ReloadOutcome
from bot.logs import configure_logging
from bot.messages import DeliveryError
from bot.settings import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]  # the update types the bot handles


def run(settings: Settings) -> int:
    """Start the bot in the mode the settings ask for; return the process exit code."""
    from bot.channels.http import telegram_webhook_secret

    secrets = [telegram_webhook_secret(settings)] if settings.telegram_bot_token else []
    configure_logging(settings, extra_secrets=secrets)
    from bot.services import build_services

    services = build_services(settings)
    if settings.telegram_bot_token is None and not settings.zalo_enabled:
        try:
            from bot.channels.terminal import run_terminal

            result: Any = run_terminal(services)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            return int(result or 0)
        finally:
            services.close()
    try:
        if settings.telegram_bot_token is None:
            return asyncio.run(serve_zalo(settings, services))
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


def _catch_signals(stop: asyncio.Event) -> list[signal.Signals]:
    """Set ``stop`` on SIGTERM/SIGINT (where the event loop supports it); returns what was installed."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    return installed


def _release_signals(installed: list[signal.Signals]) -> None:
    """Remove the handlers :func:`_catch_signals` installed."""
    loop = asyncio.get_running_loop()
    for sig in installed:
        loop.remove_signal_handler(sig)


async def _stop_watcher(watcher: asyncio.Task[None] | None) -> None:
    """Cancel the knowledge-folder watcher and wait for it to end."""
    if watcher is not None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher


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
    from handlers.staff import reload_report

    stop = stop or asyncio.Event()
    installed = _catch_signals(stop)

    watcher: asyncio.Task[None] | None = None

    async def post_init(application: Any) -> None:
        nonlocal watcher
        staff_sender = TelegramSender(application.bot)

        async def tell_staff(outcome: ReloadOutcome) -> None:
            """An edit on disk was refused: the staff chat gets the file:line problems (the old base stays live)."""
            if outcome.ok:
                return
            for admin in sorted(settings.admin_telegram_ids):
                try:
                    await staff_sender.send(str(admin), reload_report(outcome))
                except DeliveryError as err:
                    log.warning("could not tell staff %s about a refused knowledge edit: %s", admin, err.reason)

        watcher = asyncio.create_task(services.knowledge.watch(tell_staff), name="knowledge-watcher")

    async def post_shutdown(application: Any) -> None:
        await _stop_watcher(watcher)
        services.close()

    webhook = settings.telegram_webhook_url
    channel = TelegramChannel(settings, services, handle=handle, post_init=post_init, post_shutdown=post_shutdown)
    application = channel.build_application(webhook=webhook is not None, concurrent_updates=concurrent_updates)
    routes: list[BaseRoute] = [health_route(services_health(services)), metrics_route()]
    zalo = _zalo_channel(settings, services, handle, TelegramSender(application.bot)) if settings.zalo_enabled else None
    if zalo is not None:
        routes.extend(zalo.routes())
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
        if zalo is not None:
            await zalo.start()  # tokens stored before the webhook can deliver events
        await server.start()
        await application.start()
        senders: dict[str, Any] = {"telegram": TelegramSender(application.bot)}
        eligibility: dict[str, Any] = {}
        if zalo is not None:
            senders["zalo"], eligibility["zalo"] = zalo.sender, zalo.eligibility
        broadcasting = await _start_broadcasting(services, senders, eligibility)
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
        if zalo is not None:
            await zalo.stop()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        with contextlib.suppress(Exception):
            await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        _release_signals(installed)
    return code


# ----- Zalo OA (issue 6) -----------------------------------------------------------------------------------


def _zalo_channel(settings: Settings, services: Any, handle: Any = None, alert_sender: Any = None) -> Any:
    """The Zalo channel; a refused token refresh is told to the Telegram admins when ``alert_sender`` is given."""
    from bot.channels.zalo.channel import ZaloChannel
    from bot.messages import DeliveryError, Reply
    from handlers import texts

    async def alert(err: Any) -> None:
        if alert_sender is None:
            return  # the token manager has logged it at ERROR
        reply = Reply(text=texts.ZALO_REFRESH_REFUSED.format(code=err.code, reason=err.reason))
        for admin in sorted(settings.admin_telegram_ids):
            try:
                await alert_sender.send(str(admin), [reply])
            except DeliveryError as failure:
                log.warning("could not alert admin %s about the Zalo token: %s", admin, failure.reason)

    return ZaloChannel(settings, services, handle=handle, on_refused=alert)


async def _start_broadcasting(services: Any, senders: dict[str, Any], eligibility: dict[str, Any]) -> Any:
    """Start the broadcast runtime with the handlers' views and each channel's eligibility rule."""
    from bot.broadcast.runtime import start_broadcasting
    from handlers.broadcast_staff import VIEWS

    return await start_broadcasting(services, senders, VIEWS, eligibility=eligibility)


async def serve_zalo(
    settings: Settings,
    services: Any,
    *,
    stop: asyncio.Event | None = None,
    host: str = "0.0.0.0",
    handle: Any = None,
) -> int:
    """Run the Zalo OA channel alone (no Telegram token) with the HTTP server until ``stop`` or SIGTERM/SIGINT."""
    stop = stop or asyncio.Event()
    installed = _catch_signals(stop)
    zalo = _zalo_channel(settings, services, handle)
    routes: list[BaseRoute] = [health_route(services_health(services)), metrics_route(), *zalo.routes()]
    server = HttpServer(build_http_app(routes), host=host, port=settings.http_port)
    watcher: asyncio.Task[None] | None = None
    broadcasting = None
    code = 0
    try:
        watcher = asyncio.create_task(services.knowledge.watch(), name="knowledge-watcher")
        await zalo.start()  # tokens stored before the webhook can deliver events
        await server.start()
        broadcasting = await _start_broadcasting(services, {"zalo": zalo.sender}, {"zalo": zalo.eligibility})
        log.info("Zalo OA mode (no TELEGRAM_BOT_TOKEN)")
        await stop.wait()
        log.info("stopping")
    except Exception:
        log.exception("the bot stopped because of an error")
        code = 1
    finally:
        if broadcasting is not None:
            await broadcasting.stop()
        await server.stop()
        await zalo.stop()
        await _stop_watcher(watcher)
        services.close()
        _release_signals(installed)
    return code
