"""Fixtures for the Zalo channel: the fake Zalo OA API and the bot serving Zalo alone (``serve_zalo``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import serve_zalo
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import free_port
from tests.fakes.zalo_api import FakeZalo, sign_event, text_event

OA_SECRET = "oa-secret-TEST"
PARAGRAPH = "Bước {n}: " + "chuẩn bị giấy tờ khai sinh và nộp trực tuyến trên cổng dịch vụ công " * 24


def long_answer() -> str:
    """About 5,000 characters in three paragraphs (longer than any knowledge entry may be)."""
    body = "\n\n".join(PARAGRAPH.format(n=n).strip() for n in (1, 2, 3))
    assert 4500 <= len(body) <= 5200
    return body


def zalo_settings(fake: FakeZalo, tmp_path: Path, **extra: Any) -> Settings:
    """Settings for Zalo alone against ``fake``, on a fresh SQLite file."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "knowledge_dir": write_knowledge(tmp_path / "kb"),
        "http_port": free_port(),
        "zalo_app_id": fake.app_id,
        "zalo_app_secret": fake.app_secret,
        "zalo_oa_secret_key": OA_SECRET,
        "zalo_oa_access_token": fake.access_token,
        "zalo_oa_refresh_token": fake.refresh_token,
        "zalo_api_base_url": fake.base_url,
        "zalo_oauth_base_url": fake.base_url,
        "broadcast_poll_interval": 0.05,
        "broadcast_progress_interval": 0.5,
        "schedule_sync_interval": 0.2,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def fake_zalo() -> Iterator[FakeZalo]:
    """A fake Zalo OA API + OAuth server on 127.0.0.1."""
    with FakeZalo() as server:
        yield server


@dataclass
class ZaloBot:
    """The bot serving Zalo in the test's event loop, and a client posting webhook events to it."""

    fake: FakeZalo
    settings: Settings
    services: Services
    client: httpx.AsyncClient
    url: str
    counter: int = 0

    def next_msg_id(self) -> str:
        """A fresh ``msg_id``."""
        self.counter += 1
        return f"msg-{self.counter:06d}"

    async def post(self, event: dict[str, Any], *, timestamp_from: str = "body") -> httpx.Response:
        """POST ``event`` signed as Zalo does."""
        signed = sign_event(event, app_id=self.fake.app_id, secret=OA_SECRET, timestamp_from=timestamp_from)
        return await self.client.post(self.url, content=signed.body, headers=signed.headers)

    async def say(self, user_id: str, text: str, count: int = 1, msg_id: str | None = None) -> list[Any]:
        """Send a text as ``user_id``; return the ``count`` new messages the user received."""
        before = len(self.fake.sent_to(user_id))
        response = await self.post(text_event(self.fake.app_id, user_id, text, msg_id or self.next_msg_id()))
        assert response.status_code == 200
        return (await self.fake.wait_for_sent(user_id, before + count))[before:]


@contextlib.asynccontextmanager
async def running_zalo(fake: FakeZalo, tmp_path: Path, handle: Any = None) -> AsyncIterator[ZaloBot]:
    """``serve_zalo`` on a fresh SQLite database, with the webhook on a free port."""
    settings = zalo_settings(fake, tmp_path)
    services = build_services(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_zalo(settings, services, stop=stop, host="127.0.0.1", handle=handle))
    base = f"http://127.0.0.1:{settings.http_port}"
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(500):
            if task.done():
                break
            try:
                if (await client.get(base + "/healthz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)
        assert not task.done(), "serve_zalo stopped during startup"
        yield ZaloBot(fake, settings, services, client, base + "/zalo/webhook")
    stop.set()
    assert await asyncio.wait_for(task, 20) == 0


@pytest.fixture
async def zalo_bot(fake_zalo: FakeZalo, tmp_path: Path) -> AsyncIterator[ZaloBot]:
    """The bot serving Zalo alone with the real handlers."""
    async with running_zalo(fake_zalo, tmp_path) as bot:
        yield bot
