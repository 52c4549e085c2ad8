"""End to end through the real PTB Application (``serve_telegram``) and the fake Bot API with its rate limit on."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import serve_telegram
from bot.broadcast import service
from bot.services import Services, build_services
from bot.settings import Settings
from handlers import texts
from tests.broadcast.conftest import add_subscribers
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import Call, FakeTelegram, RateLimit, free_port

TOKEN = "123:TEST"
ADMIN = 999


@dataclass
class Running:
    """The bot running in the test's event loop."""

    tg: FakeTelegram
    services: Services
    stop: asyncio.Event
    task: asyncio.Task[int]

    async def say(self, chat_id: int, text: str, count: int = 1) -> list[Call]:
        """Send a message and return the bot's ``count`` new messages in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.inject_message(chat_id=chat_id, text=text)
        return (await self.tg.wait_for_sent(before + count, chat_id))[before:]

    async def press(self, chat_id: int, data: str, message_id: int) -> Call:
        """Press a button on ``message_id`` and return the bot's first new send/edit in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.inject_callback(chat_id=chat_id, data=data, message_id=message_id)
        return (await self.tg.wait_for_sent(before + 1, chat_id))[before]


@pytest.fixture
async def running(fake_telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """``serve_telegram`` with a fresh SQLite database, fast polling and progress every 0.5 s."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake_telegram.base_url,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=write_knowledge(tmp_path / "kb"),
        http_port=free_port(),
        admin_telegram_ids=frozenset({ADMIN}),
        broadcast_poll_interval=0.05,
        broadcast_progress_interval=0.5,
        schedule_sync_interval=0.2,
    )
    services = build_services(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_telegram(settings, services, stop=stop, host="127.0.0.1"))
    await fake_telegram.wait_for(lambda: bool(fake_telegram.calls_to("getupdates", ok=None)) or task.done())
    assert not task.done()
    yield Running(fake_telegram, services, stop, task)
    stop.set()
    assert await asyncio.wait_for(task, 20) == 0


def notices_by_chat(tg: FakeTelegram) -> Counter[int]:
    """Messages carrying the unsubscribe button, per chat."""
    return Counter(
        int(c.params["chat_id"])
        for c in tg.calls_to("sendmessage")
        if any(b.get("callback_data") == "unsub" for b in tg.buttons(c))
    )


def button_data(tg: FakeTelegram, call: Call) -> list[str]:
    return [str(b.get("callback_data")) for b in tg.buttons(call)]


async def test_staff_broadcast_reaches_300_subscribers_exactly_once_under_the_rate_limit(running: Running) -> None:
    tg = running.tg
    ids = add_subscribers(running.services.sessions, 300)
    blocked = {ids[10], ids[150], ids[299]}
    tg.blocked_chats |= blocked
    # a citizen subscribes through the chat
    [welcome] = await running.say(7001, "/dangky")
    assert "sub:t:lua-dao" in button_data(tg, welcome)
    # a citizen cannot broadcast, and nothing is sent
    [refused] = await running.say(7002, "/thongbao Tin giả: nhận tiền hỗ trợ")
    assert tg.visible_text(refused) == texts.STAFF_ONLY
    assert service.list_broadcasts(sessions=running.services.sessions, statuses=None) == []
    # staff: preview exactly as citizens see it, then "Gửi ngay", then confirm
    head, preview, panel = await running.say(ADMIN, "/thongbao Cảnh báo: **không** bấm vào đường link lạ.", count=3)
    assert "Xem trước" in tg.visible_text(head)
    assert tg.visible_text(preview).startswith("Cảnh báo: không bấm vào đường link lạ.")
    assert button_data(tg, preview) == ["unsub"]
    assert "301" in tg.visible_text(panel)
    panel_id = int(panel.result["message_id"])
    confirm = await running.press(ADMIN, "tb:now", panel_id)
    assert "tb:go" in button_data(tg, confirm) and notices_by_chat(tg)[ids[0]] == 0
    tg.rate_limit = RateLimit(global_per_second=30, per_chat_per_second=1)
    started = await running.press(ADMIN, "tb:go", panel_id)
    assert "Đang bắt đầu gửi" in tg.visible_text(started)
    [row] = service.list_broadcasts(sessions=running.services.sessions, statuses=None)
    await tg.wait_for(
        lambda: (
            (s := service.broadcast_status(sessions=running.services.sessions, broadcast_id=row.id)) is not None
            and s.status == "done"
        ),
        within=40,
    )
    await tg.wait_for(lambda: any("Đã gửi xong" in c.params.get("text", "") for c in tg.calls_to("sendmessage")))
    received = notices_by_chat(tg)
    received.pop(ADMIN, None)  # the preview
    assert set(received) == {*ids, 7001} - blocked
    assert set(received.values()) == {1}, "nobody got the notice twice"
    status = service.broadcast_status(sessions=running.services.sessions, broadcast_id=row.id)
    assert status is not None and (status.sent, status.blocked, status.failed) == (298, 3, 0)
    edits = [c for c in tg.calls_to("editmessagetext") if int(c.params["chat_id"]) == ADMIN]
    assert any("Đang gửi thông báo" in c.params["text"] for c in edits), "live progress was shown"
    assert "298/301" in edits[-1].params["text"]
    # the one-tap unsubscribe under the notice works
    notice = next(c for c in tg.calls_to("sendmessage") if int(c.params["chat_id"]) == ids[0])
    tg.rate_limit = None
    answer = await running.press(ids[0], "unsub", int(notice.result["message_id"]))
    assert tg.visible_text(answer) == texts.UNSUBSCRIBED


async def test_scheduled_notice_through_the_chat_fires_at_its_time(running: Running) -> None:
    tg = running.tg
    ids = add_subscribers(running.services.sessions, 5)
    *_, panel = await running.say(ADMIN, "/thongbao Họp tổ dân phố lúc 19:00", count=3)
    panel_id = int(panel.result["message_id"])
    await running.press(ADMIN, "tb:later", panel_id)
    bid = service.create_broadcast(
        sessions=running.services.sessions,
        text="Nhắc lịch tiêm chủng",
        scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5),  # as `broadcast schedule` does
    )
    assert bid is not None
    [asked] = await running.say(ADMIN, "01/01/2099 08:00")
    assert "08:00 ngày 01/01/2099" in tg.visible_text(asked)
    scheduled = await running.press(ADMIN, "tb:go", int(asked.result["message_id"]))
    assert "Đã hẹn" in tg.visible_text(scheduled)
    assert set(notices_by_chat(tg)) == {ADMIN}  # only the preview so far
    await tg.wait_for(lambda: len(notices_by_chat(tg)) == 6, within=15)
    assert set(notices_by_chat(tg)) == set(ids) | {ADMIN}
    assert set(notices_by_chat(tg).values()) == {1}
    [listing] = await running.say(ADMIN, "/lichthongbao")
    assert "01/01/2099" in tg.visible_text(listing)
