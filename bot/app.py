"""The composition root: settings → logging → services → channels.

``run(settings)`` starts every channel the settings configure (``bot.channels.registry``) through one path,
:func:`serve`: each channel is built with a :class:`~bot.channel.ChannelHost`, its routes join one HTTP server
(with ``/healthz`` and ``/metrics``), its gateway and eligibility rule feed one broadcast runtime, the knowledge
folder is watched once, and SIGTERM/SIGINT stop everything cleanly with exit code 0. With no channel configured
(no Telegram token, no Zalo credentials) the terminal chat opens instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import logging
import random
import signal
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from starlette.routing import BaseRoute

from bot.channel import Channel, ChannelHost, Gateway, Handle
from bot.channels.http import HttpServer, build_http_app, health_route, metrics_route
from bot.channels.registry import configured_channels
from bot.kb.store import ReloadOutcome
from bot.logs import configure_logging, register_secret
from bot.messages import DeliveryError, IncomingMessage, Reply, SentMessage
from bot.settings import Settings
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ADMIN_CHANNEL = "telegram"  # ADMIN_TELEGRAM_IDS are Telegram user ids


STARTUP_BACKOFF_MAX = 60.0


class _Stopped(Exception):
    """SIGTERM/SIGINT arrived while channels were still starting."""


def run(settings: Settings) -> int:
    """Start the bot with every configured channel (or the terminal chat); return the process exit code."""
    handler = configure_logging(settings)
    terminal = not configured_channels(settings)
    if terminal and "log_level" not in settings.model_fields_set:
        handler.setLevel(logging.WARNING)  # the terminal is the chat: only problems go there, unless asked
    try:
        services = asyncio.run(wait_for_database(settings, serve_health=not terminal))
    except KeyboardInterrupt:
        return 0
    if services is None:  # stopped while the database was still unreachable
        return 0
    if terminal:
        try:
            from bot.channels.terminal import run_terminal

            result: Any = run_terminal(services)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            return int(result or 0)
        finally:
            services.close()
    try:
        return asyncio.run(serve(settings, services))
    except KeyboardInterrupt:
        return 0


def _reason(err: BaseException) -> str:
    """One short line saying why: the driver's first line, without SQL or parameters."""
    orig = getattr(err, "orig", None)
    text_ = str(orig if orig is not None else err).strip().splitlines()
    return (text_[0] if text_ else type(err).__name__)[:200]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _backoff(attempt: int) -> float:
    """1, 2, 4 … 60 seconds, with a little jitter so that several instances do not retry in step."""
    return min(STARTUP_BACKOFF_MAX, 2.0 ** min(attempt, 6)) * random.uniform(0.8, 1.2)


async def wait_for_database(settings: Settings, *, serve_health: bool = False) -> Any:
    """Build the services, retrying with backoff while the database cannot be reached.

    Each failed attempt logs one line with the reason (no traceback); with ``serve_health`` a bare ``/healthz``
    answers 503 with that reason meanwhile. Returns None when SIGTERM/SIGINT came first.
    """
    from sqlalchemy.exc import DBAPIError

    from bot.services import build_services

    stop = asyncio.Event()
    installed = _catch_signals(stop)
    server: HttpServer | None = None
    reason = "starting"
    attempt = 0

    async def check() -> tuple[bool, dict[str, Any]]:
        return False, {"database": False, "problems": {"database": reason}}

    try:
        while not stop.is_set():
            try:
                return await asyncio.to_thread(build_services, settings)
            except DBAPIError as err:
                reason = f"cannot reach the database: {_reason(err)}"
            delay = _backoff(attempt)
            attempt += 1
            log.error("%s; retrying in %.0f s", reason, delay)
            if serve_health and server is None:
                server = HttpServer(build_http_app([health_route(check)]), port=settings.http_port)
                try:
                    await server.start()
                except OSError:
                    server = None
                    serve_health = False
            await _wait(stop, delay)
        return None
    finally:
        if server is not None:
            await server.stop()
        _release_signals(installed)


async def start_channel(channel: Channel, health: Any, stop: asyncio.Event) -> bool:
    """Start ``channel``, retrying with backoff while it fails (the Bot API unreachable, DNS down); its reason
    shows in ``/healthz`` meanwhile. False when ``stop`` was set before it started."""
    attempt = 0
    while not stop.is_set():
        try:
            await channel.start()
        except Exception as err:
            reason = f"cannot start: {type(err).__name__}: {_reason(err)}"
            health.problem(channel.name, reason)
            delay = _backoff(attempt)
            attempt += 1
            log.error("%s %s; retrying in %.0f s", channel.name, reason, delay)
            with contextlib.suppress(Exception):
                await channel.stop()  # undo what part of start ran, so the next try begins clean
            await _wait(stop, delay)
            continue
        health.clear(channel.name)
        return True
    return False


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
        details: dict[str, Any] = {
            "database": db_ok, "knowledge_loaded": entries is not None, "knowledge_entries": entries or 0
        }  # fmt: skip
        problems = services.health.problems() if hasattr(services, "health") else {}
        if problems:
            details["problems"] = problems  # e.g. {"storage": "database writes fail: database or disk is full"}
        return db_ok and entries is not None and not problems, details

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


def staff_alerter(settings: Settings, services: Any, gateways: Mapping[str, Gateway]) -> Any:
    """``alert_staff(text)``: tell every admin and staff-table member on the channels that are running.

    ``gateways`` is read at call time, so channels built after the alerter are reached too.
    """

    async def tell(replies: list[Reply]) -> None:
        from bot.broadcast.service import list_staff

        chats = [(ADMIN_CHANNEL, str(admin)) for admin in sorted(settings.admin_telegram_ids)]
        try:
            listed = await asyncio.to_thread(list_staff, sessions=services.sessions)
        except Exception:
            log.exception("could not read the staff table for an alert")
            listed = []
        chats += [chat for chat in listed if chat not in chats]
        for channel, chat_id in chats:
            gateway = gateways.get(channel)
            if gateway is None:
                continue
            try:
                await gateway.send(chat_id, replies)
            except DeliveryError as err:
                log.warning("could not alert staff %s on %s: %s", chat_id, channel, err.reason)

    async def alert_staff(text_or_replies: str | list[Reply]) -> None:
        replies = [Reply(text=text_or_replies)] if isinstance(text_or_replies, str) else text_or_replies
        await tell(replies)

    return alert_staff


def wire_handoff(settings: Settings, services: Any, gateways: Mapping[str, Gateway]) -> None:
    """Let the handlers reach the staff group and citizens on any running channel (read at call time)."""

    async def outbox(channel: str, chat_id: str, replies: Sequence[Reply]) -> list[SentMessage]:
        gateway = gateways.get(channel)
        if gateway is None:
            raise DeliveryError(f"the {channel} channel is not running")
        return await gateway.send(chat_id, list(replies))

    services.handoff.outbox = outbox
    if settings.staff_group_chat_id is not None:
        if ADMIN_CHANNEL in gateways:
            services.handoff.staff_chat = (ADMIN_CHANNEL, str(settings.staff_group_chat_id))
        else:
            log.warning("STAFF_GROUP_CHAT_ID is set but Telegram is not running: questions for staff are off")


async def remind_loop(services: Any, minutes: int, every: float = 60.0) -> None:
    """Remind the staff group, once per question, of questions nobody claimed within ``minutes``."""
    from handlers.handoff import remind

    while True:
        await asyncio.sleep(every)
        try:
            await remind(services, dt.timedelta(minutes=minutes))
        except Exception:
            log.exception("reminding staff of waiting questions failed")


def health_alerter(alert_staff: Any) -> Any:
    """The :class:`~bot.health.Health` alert: a failing component, worded for staff."""
    from handlers import texts

    async def alert(component: str, reason: str) -> None:
        if component == "storage":
            await alert_staff(texts.ALERT_STORAGE.format(reason=reason))
        else:
            await alert_staff(texts.ALERT_COMPONENT.format(component=component, reason=reason))

    return alert


def routing(services: Any, handle: Any = None) -> Handle:
    """The host's ``handle(msg)``: ``handlers.routes.handle`` (or a replacement taking ``(msg, services)``)."""
    if handle is None:
        from handlers.routes import handle as routes_handle

        handle = routes_handle

    async def route(msg: IncomingMessage) -> list[Reply]:
        result = handle(msg, services)
        if inspect.isawaitable(result):
            result = await result
        return list(result)

    return route


async def serve(
    settings: Settings,
    services: Any,
    *,
    stop: asyncio.Event | None = None,
    host: str = "0.0.0.0",
    handle: Any = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    only: frozenset[str] | None = None,
) -> int:
    """Run every configured channel, the HTTP server and broadcasting until ``stop`` is set or SIGTERM/SIGINT.

    ``handle`` replaces ``handlers.routes.handle`` (benchmarks measure a channel alone with it); ``options``
    tunes channels (see :class:`~bot.channel.ChannelHost`); ``only`` restricts the channels started.
    """
    from bot.broadcast.runtime import start_broadcasting
    from handlers.broadcast_staff import VIEWS
    from handlers.staff import reload_report

    stop = stop or asyncio.Event()
    installed = _catch_signals(stop)
    gateways: dict[str, Gateway] = {}
    alert_staff = staff_alerter(settings, services, gateways)
    channel_host = ChannelHost(services=services, handle=routing(services, handle), alert_staff=alert_staff,
                               options=options or {})
    channels: list[Channel] = []
    started: list[Channel] = []
    server: HttpServer | None = None
    watcher: asyncio.Task[None] | None = None
    reminder: asyncio.Task[None] | None = None
    broadcasting = None
    code = 0

    async def tell_staff(outcome: ReloadOutcome) -> None:
        """An edit on disk was refused: staff get the file:line problems (the old base stays live)."""
        if not outcome.ok:
            await alert_staff(reload_report(outcome))

    services.health.set_alert(health_alerter(alert_staff))
    try:
        for spec in configured_channels(settings, only):
            channel = spec.build(settings, channel_host)
            channels.append(channel)
            gateways[channel.name] = channel.gateway
            for secret in channel.secrets():
                register_secret(secret)
        services.broadcasts.channels = tuple(c.name for c in channels)  # notices reach every running channel
        wire_handoff(settings, services, gateways)
        token = settings.http_metrics_token.get_secret_value() if settings.http_metrics_token else None
        routes: list[BaseRoute] = [health_route(services_health(services)), metrics_route(token)]
        for channel in channels:
            routes.extend(channel.routes())
        app = build_http_app(routes, max_body_bytes=settings.http_max_body_bytes)
        server = HttpServer(app, host=host, port=settings.http_port)
        watcher = asyncio.create_task(services.knowledge.watch(tell_staff), name="knowledge-watcher")
        if services.handoff.available and settings.handoff_remind_minutes > 0:
            reminder = asyncio.create_task(remind_loop(services, settings.handoff_remind_minutes), name="reminder")
        # /healthz first, so that a channel that cannot start yet (no network) shows why while it retries.
        await server.start()
        for channel in channels:
            started.append(channel)
            if not await start_channel(channel, services.health, stop):
                break
        if stop.is_set():
            raise _Stopped
        broadcasting = await start_broadcasting(
            services, gateways, VIEWS, eligibility={c.name: c.eligibility for c in channels}
        )
        log.info("serving %s", ", ".join(c.name for c in channels) or "no channel")
        await stop.wait()
        log.info("stopping")
    except _Stopped:
        log.info("stopping before every channel started")
    except Exception:
        log.exception("the bot stopped because of an error")
        code = 1
    finally:
        if broadcasting is not None:
            await broadcasting.stop()
        if server is not None:
            await server.stop()
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping the %s channel failed", channel.name)
        await cancel_and_wait(watcher)
        await cancel_and_wait(reminder)
        services.close()
        _release_signals(installed)
    return code


async def serve_telegram(
    settings: Settings,
    services: Any,
    *,
    stop: asyncio.Event | None = None,
    host: str = "0.0.0.0",
    concurrent_updates: int = 16,
    handle: Any = None,
) -> int:
    """:func:`serve` with Telegram's ``concurrent_updates`` (tests and benchmarks)."""
    options = {"telegram": {"concurrent_updates": concurrent_updates}}
    return await serve(settings, services, stop=stop, host=host, handle=handle, options=options)


async def serve_zalo(
    settings: Settings,
    services: Any,
    *,
    stop: asyncio.Event | None = None,
    host: str = "0.0.0.0",
    handle: Any = None,
) -> int:
    """:func:`serve` restricted to the Zalo channel (tests)."""
    return await serve(settings, services, stop=stop, host=host, handle=handle, only=frozenset({"zalo"}))
