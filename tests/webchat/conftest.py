"""Fixtures for the web chat: the bot's HTTP server with the web chat routes, in a thread of its own (so sync
Playwright can drive a real Chromium from the test), a plain host page on another origin, and the browser."""

from __future__ import annotations

import asyncio
import os
import shutil
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.app import routing, services_health
from bot.channel import ChannelHost
from bot.channels.http import HttpServer, build_http_app, health_route, metrics_route
from bot.channels.webchat.channel import WebChatChannel
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import free_port

HOSTILE_ANSWER = '<img src=x onerror="window.__pwned=1"><b>in đậm giả</b><script>window.__pwned=2</script>'
CATEGORY_HOSTILE = f"""\
category: thu-nghiem
title: Thử nghiệm hiển thị
entries:
  - id: mau-html-la
    question: Mẫu đơn khiếu nại viết như thế nào?
    variants:
      - cách viết đơn khiếu nại
    answer: |
      {HOSTILE_ANSWER}
    tags: [đơn, khiếu nại]
"""


def webchat_knowledge(folder: Path) -> Path:
    """The shared test knowledge base plus an entry whose answer is HTML (which must show as text)."""
    write_knowledge(folder)
    (folder / "thu-nghiem.yaml").write_text(textwrap.dedent(CATEGORY_HOSTILE), encoding="utf-8")
    return folder


def webchat_settings(tmp_path: Path, *, origins: str = "", **extra: Any) -> Settings:
    """Settings with the web chat on, on a fresh SQLite file."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "knowledge_dir": webchat_knowledge(tmp_path / "kb"),
        "http_port": free_port(),
        "webchat_enabled": True,
        "webchat_allowed_origins": origins,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class BotThread:
    """The bot's HTTP server with the web chat, in its own event loop on a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services = build_services(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="webchat-bot", daemon=True)
        self.channel: WebChatChannel | None = None
        self.server: HttpServer | None = None
        self.url = f"http://127.0.0.1:{settings.http_port}"

    def run(self, coro: Any) -> Any:
        """Run ``coro`` on the bot's loop and wait for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(30)

    async def _start(self) -> None:
        async def alert_staff(text: str) -> None:
            raise AssertionError(f"no staff alert expected: {text}")

        host = ChannelHost(services=self.services, handle=routing(self.services), alert_staff=alert_staff)
        self.channel = WebChatChannel(self.settings, host)
        routes = [health_route(services_health(self.services)), metrics_route(), *self.channel.routes()]
        self.server = HttpServer(build_http_app(routes), host="127.0.0.1", port=self.settings.http_port)
        await self.channel.start()
        await self.server.start()

    async def _stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        if self.channel is not None:
            await self.channel.stop()

    def __enter__(self) -> BotThread:
        self.thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.services.close()


def host_page(bot_url: str) -> bytes:
    """A plain page of some ward portal: its own (clashing) styles, and the one-line embed."""
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cổng thông tin điện tử phường thử nghiệm</title>
<style>* {{ font-size: 9px !important; color: red; }} button {{ display: none; }}</style></head>
<body><main><h1>Phường thử nghiệm</h1><p>Tin tức và thông báo của phường.</p></main>
<script src="{bot_url}/widget.js" async></script>
</body></html>""".encode()


@dataclass
class HostSite:
    """A plain web server for the host page; reach it as 127.0.0.1 (allowed) or localhost (not allowed)."""

    port: int

    @property
    def allowed(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def disallowed(self) -> str:
        return f"http://localhost:{self.port}"


def serve_host_page(bot_url: str) -> tuple[ThreadingHTTPServer, HostSite]:
    """Start the host page server on a free port."""
    body = host_page(bot_url)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, name="host-page", daemon=True).start()
    return server, HostSite(server.server_address[1])


def chromium_path() -> str | None:
    """The system's Chromium (``CHROMIUM_PATH`` or the usual names on PATH)."""
    if path := os.environ.get("CHROMIUM_PATH"):
        return path
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


@dataclass
class WebStack:
    """The running bot, the host site, and a Chromium browser."""

    bot: BotThread
    site: HostSite
    browser: Any


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    """One bot + host site + headless Chromium for a module of browser tests."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine (scripts/ensure-browser.sh installs Debian's chromium as root)")
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("webchat")
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    host_server, site = serve_host_page(bot_url)
    settings = webchat_settings(tmp, origins=site.allowed, http_port=port)
    with BotThread(settings) as bot, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            yield WebStack(bot, site, browser)
        finally:
            browser.close()
            host_server.shutdown()
            host_server.server_close()
