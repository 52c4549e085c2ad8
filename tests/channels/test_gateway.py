"""The outbound gateway under faults: through the real PTB ``Bot`` against the fake Bot API, and the real bot.

Faults are injected by the fake server (``tests.fakes.faults``): 429 with ``retry_after``, 500, connection
resets before and after delivery, slow answers; plus Telegram-like per-chat and overall limits.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from telegram import Bot

from bot import metrics
from bot.channel import Priority
from bot.channels.telegram import TelegramSender
from bot.gateway import Budget, GatewayPolicy, OutboundGateway
from bot.messages import AmbiguousError, RateLimited, Reply, TransientError
from tests.channels.test_telegram_e2e import make_settings, start_bot
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, RateLimit


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> Bot:
    async with Bot(fake_telegram.token, base_url=fake_telegram.base_url) as ptb:
        yield ptb


def gateway(bot: Bot, **policy: float) -> OutboundGateway:
    return OutboundGateway(TelegramSender(bot), GatewayPolicy(backoff_base=0.05, **policy))  # type: ignore[arg-type]


def texts_to(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [str(c.params["text"]) for c in tg.sent(chat_id)]


@pytest.mark.parametrize("fault", ["429", "500", "reset_before", "slow"])
async def test_a_reply_survives_each_fault_exactly_once(fake_telegram: FakeTelegram, bot: Bot, fault: str) -> None:
    fake_telegram.faults.slow_seconds = 0.3
    fake_telegram.faults.script(fault, fault)
    sent = await gateway(bot).send("42", [Reply(text="Trả lời")])
    assert len(sent) == 1
    assert texts_to(fake_telegram, 42) == ["Trả lời"]


async def test_a_reset_after_delivery_is_retried_for_replies(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.faults.script("reset_after")
    out = gateway(bot)
    await out.send("42", [Reply(text="Trả lời")])
    assert texts_to(fake_telegram, 42) == ["Trả lời", "Trả lời"]  # at least once: the citizen is waiting
    assert out.retries == 1


async def test_a_broadcast_gets_one_attempt_and_reports_an_ambiguous_failure(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    out = gateway(bot)
    fake_telegram.faults.script("reset_after")
    with pytest.raises(AmbiguousError):
        await out.send("42", [Reply(text="Thông báo")], priority=Priority.BROADCAST)
    fake_telegram.faults.script("500")
    with pytest.raises(TransientError) as caught:
        await out.send("43", [Reply(text="Thông báo")], priority=Priority.BROADCAST)
    assert not isinstance(caught.value, AmbiguousError)  # an error answer proves nothing was sent
    fake_telegram.faults.script("429")
    with pytest.raises(RateLimited):
        await out.send("44", [Reply(text="Thông báo")], priority=Priority.BROADCAST)
    assert out.chat_wait("44") > 0.5  # the chat waits out its retry_after
    assert texts_to(fake_telegram, 42) == ["Thông báo"] and texts_to(fake_telegram, 43) == []


async def test_an_edit_hit_by_429_is_retried(fake_telegram: FakeTelegram, bot: Bot) -> None:
    out = gateway(bot)
    [first] = await out.send("999", [Reply(text="Chọn chủ đề")])
    fake_telegram.faults.script("429")
    [edited] = await out.send("999", [Reply(text="Xác nhận gửi", edit_message_id=first.message_id)])
    assert edited.message_id == first.message_id
    edits = [c for c in fake_telegram.calls_to("editmessagetext")]
    assert [c.params["text"] for c in edits] == ["Xác nhận gửi"]


async def test_a_long_reply_hit_on_its_second_part_does_not_repeat_the_first(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    fake_telegram.rate_limit = RateLimit(global_per_second=30, per_chat_per_second=1)  # the 2nd part gets a 429
    await gateway(bot).send("42", [Reply(text="Phần một. " * 300 + "\n\n" + "Phần hai. " * 300)])
    parts = texts_to(fake_telegram, 42)
    assert len(parts) == 2 and parts[0].startswith("Phần một") and parts[1].startswith("Phần hai")
    assert len(fake_telegram.calls_to("sendmessage", ok=False)) == 1  # the 429, retried alone


async def test_a_reply_that_finally_fails_is_logged_and_counted(
    fake_telegram: FakeTelegram, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    fake_telegram.faults.mix = {"500": 1.0}
    before = metrics.REPLIES_FAILED.labels(channel="telegram", kind="gave_up")._value.get()
    with caplog.at_level(logging.WARNING, logger="bot.gateway"), pytest.raises(TransientError):
        await gateway(bot, reply_deadline=0.5).send("42", [Reply(text="Trả lời")])
    assert metrics.REPLIES_FAILED.labels(channel="telegram", kind="gave_up")._value.get() == before + 1
    assert any("chat 42" in r.getMessage() and "Internal Server Error" in r.getMessage() for r in caplog.records)


async def test_replies_take_the_next_slot_before_waiting_broadcasts() -> None:
    budget = Budget(20.0)  # one slot every 50 ms
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(name)

    broadcasts = [asyncio.create_task(take(f"b{i}", Priority.BROADCAST)) for i in range(6)]
    await asyncio.sleep(0.07)  # b0 and b1 have gone; b2…b5 wait
    replies = [asyncio.create_task(take(f"r{i}", Priority.REPLY)) for i in range(2)]
    await asyncio.gather(*broadcasts, *replies)
    assert order[:2] == ["b0", "b1"]
    assert order[2:4] == ["r0", "r1"]  # ahead of the four broadcasts queued before them


async def test_citizens_get_answers_through_the_whole_bot_under_a_fault_mix(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    fake_telegram.faults.mix = {"429": 0.1, "500": 0.1, "reset_before": 0.1, "slow": 0.05}
    fake_telegram.faults.slow_seconds = 0.5
    running = await start_bot(fake_telegram, make_settings(fake_telegram, write_knowledge(tmp_path / "kb"), tmp_path))
    try:
        chats = list(range(500, 520))
        for chat in chats:
            fake_telegram.inject_message(chat_id=chat, text="/start")
        await fake_telegram.wait_for(lambda: all(fake_telegram.sent(c) for c in chats), within=30)
    finally:
        fake_telegram.faults.mix = {}
        running.stop.set()
        assert await asyncio.wait_for(running.task, 10) == 0
    assert sum(fake_telegram.faults.injected.values()) > 0
    assert all(len(fake_telegram.sent(c)) == len(fake_telegram.sent(chats[0])) for c in chats), "no duplicates"


async def test_a_broadcast_is_not_sent_twice_when_the_answer_is_lost(
    fake_telegram: FakeTelegram, bot: Bot, tmp_path: Path
) -> None:
    from bot.broadcast import service
    from bot.broadcast.runtime import BroadcastRuntime
    from handlers.broadcast_staff import VIEWS
    from tests.broadcast.conftest import add_subscribers
    from tests.broadcast.test_engine import make_services, wait_until

    services = make_services(tmp_path)
    ids = add_subscribers(services.sessions, 6)
    runtime = BroadcastRuntime(services, {"telegram": gateway(bot)}, VIEWS)
    for worker in runtime.workers:
        worker.config = type(worker.config)(batch_size=10, poll_interval=0.05, backoff_base=0.05)
    fake_telegram.faults.script("reset_after", "500")  # the first delivery arrives unseen, the second fails
    await runtime.start()
    try:
        bid = service.create_broadcast(sessions=services.sessions, text="Lịch cắt điện")
        assert bid is not None
        runtime.wake()
        await wait_until(lambda: (s := service.broadcast_status(sessions=services.sessions, broadcast_id=bid))
                         is not None and s.status == "done")
    finally:
        await runtime.stop()
    status = service.broadcast_status(sessions=services.sessions, broadcast_id=bid)
    assert status is not None and (status.sent, status.failed) == (5, 1)  # the lost answer is not retried
    received = [c for c in fake_telegram.sent() if "Lịch cắt điện" in str(c.params["text"])]
    assert sorted(int(c.params["chat_id"]) for c in received) == sorted(ids)  # everyone exactly once
    services.close()


async def test_staff_tapping_quickly_through_thongbao_reach_the_confirm_step_despite_429s(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    running = await start_bot(fake_telegram, make_settings(fake_telegram, write_knowledge(tmp_path / "kb"), tmp_path))
    admin = 999  # in ADMIN_TELEGRAM_IDS
    try:
        fake_telegram.inject_message(chat_id=admin, text="/thongbao Họp tổ dân phố lúc 19:00")
        *_, panel = await fake_telegram.wait_for_sent(3, admin)
        panel_id = int(panel.result["message_id"])
        fake_telegram.faults.script("429", "429")  # the edits of the next taps are refused at first
        fake_telegram.inject_callback(chat_id=admin, data="tb:t:*", message_id=panel_id)
        fake_telegram.inject_callback(chat_id=admin, data="tb:now", message_id=panel_id)
        await fake_telegram.wait_for(
            lambda: any(b.get("callback_data") == "tb:go" for c in fake_telegram.sent(admin)
                        for b in fake_telegram.buttons(c)),
            within=20,
        )
    finally:
        running.stop.set()
        assert await asyncio.wait_for(running.task, 10) == 0
    assert fake_telegram.faults.injected["429"] == 2
