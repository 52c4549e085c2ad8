"""Inbound durability on Telegram: updates recorded before acknowledgement, answered after a crash, de-duplicated."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.channels.http import SECRET_HEADER, telegram_webhook_secret
from bot.inbound import InboundLog, InboundUpdate
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import utcnow
from handlers import texts
from tests.channels.test_telegram_e2e import make_settings, start_bot
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram


def dead_process_log(url: str, *, age: float = 0.0) -> InboundLog:
    """The inbound log of a process that crashed ``age`` seconds ago (its leases have run out)."""
    upgrade(url)
    sessions = make_sessionmaker(create_engine_for(url))
    when = utcnow() - dt.timedelta(seconds=age)
    return InboundLog(sessions, "telegram", lease_seconds=0.0, clock=lambda: when)


def test_claim_finish_and_take_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    first = dead_process_log(url)
    assert first.claim("1", "{}", "42")
    assert not first.claim("1", "{}", "42")  # its own update, in hand
    second = InboundLog(first.sessions, "telegram")
    assert second.claim("1", "{}", "42")  # the first process died: its lease ran out
    second.finish("1")
    third = InboundLog(first.sessions, "telegram", lease_seconds=0.0)
    assert not third.claim("1", "{}", "42")  # answered: a duplicate
    assert third.take_expired() == []


async def test_updates_left_by_a_crash_are_answered_at_start(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = make_settings(fake_telegram, write_knowledge(tmp_path / "kb"), tmp_path)
    crashed = dead_process_log(settings.database_url, age=5)
    recent = fake_telegram.message_update(chat_id=71, text="/start")
    crashed.claim(str(recent["update_id"]), json.dumps(recent), "71")
    old = dead_process_log(settings.database_url, age=3600)  # far past the answer deadline
    stale = fake_telegram.message_update(chat_id=72, text="/help")
    old.claim(str(stale["update_id"]), json.dumps(stale), "72")
    running = await start_bot(fake_telegram, settings)
    try:
        [answer] = await fake_telegram.wait_for_sent(1, 71)
        [sorry] = await fake_telegram.wait_for_sent(1, 72)
    finally:
        running.stop.set()
        assert await asyncio.wait_for(running.task, 10) == 0
    assert answer.params["text"] and str(sorry.params["text"]) == texts.INBOUND_LATE
    with crashed.sessions() as session:
        assert all(r.done_at is not None for r in session.scalars(select(InboundUpdate)))


async def test_webhook_updates_are_deduplicated_by_update_id(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    settings = make_settings(fake_telegram, write_knowledge(tmp_path / "kb"), tmp_path,
                             telegram_webhook_url="https://bot.example.org")
    running = await start_bot(fake_telegram, settings)
    update = fake_telegram.message_update(chat_id=81, text="/start")
    headers = {SECRET_HEADER: telegram_webhook_secret(settings)}
    url = f"http://127.0.0.1:{settings.http_port}/telegram/webhook"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(500):
                try:
                    if (await client.post(url, json=update, headers=headers)).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.02)
            first = await fake_telegram.wait_for_sent(1, 81)
            assert (await client.post(url, json=update, headers=headers)).status_code == 200  # Telegram retries
            await asyncio.sleep(0.5)
    finally:
        running.stop.set()
        assert await asyncio.wait_for(running.task, 10) == 0
    assert len(fake_telegram.sent(81)) == len(first)
