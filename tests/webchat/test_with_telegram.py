"""The web chat beside Telegram in one process: both answer, through the same handlers and database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.app import serve
from bot.channels.registry import configured_channels
from bot.channels.webchat.api import API_PATH
from bot.services import build_services
from bot.storage.models import User
from tests.fakes.telegram_api import FakeTelegram
from tests.webchat.conftest import webchat_settings

ORIGIN = "https://phuong-mau.example.gov.vn"


async def test_web_chat_and_telegram_run_together(tmp_path: Path) -> None:
    with FakeTelegram() as tg:
        settings = webchat_settings(tmp_path, origins=ORIGIN, telegram_bot_token="123:TEST",
                                    telegram_api_base_url=tg.base_url)
        assert [s.name for s in configured_channels(settings)] == ["telegram", "webchat"]
        services = build_services(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, services, stop=stop, host="127.0.0.1"))
        await tg.wait_for(lambda: bool(tg.calls_to("getupdates", ok=None)) or task.done())
        assert not task.done(), "the bot stopped during startup"

        tg.inject_message(chat_id=42, text="cach cai dat vneid")
        telegram_answer = (await tg.wait_for_sent(1, 42))[0]
        assert "CH Play" in str(telegram_answer.params["text"])

        async with httpx.AsyncClient(timeout=10) as client:
            body = json.dumps({"visitor": "w" * 24, "text": "cach cai dat vneid"})
            web = await client.post(f"http://127.0.0.1:{settings.http_port}{API_PATH}", content=body,
                                    headers={"Origin": ORIGIN})
        assert web.status_code == 200
        assert "CH Play" in json.dumps(web.json(), ensure_ascii=False)

        stop.set()
        assert await asyncio.wait_for(task, 20) == 0
    with services.sessions() as session:
        channels = sorted(session.scalars(select(User.channel)).all())
    assert channels == ["telegram", "webchat"]
