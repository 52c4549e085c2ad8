"""The delivery engine and scheduler against the fake Bot API server (real PTB ``Bot``, real SQLite/APScheduler)."""

from __future__ import annotations

import asyncio
import datetime as dt
import textwrap
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.broadcast import service
from bot.broadcast.runtime import BroadcastRuntime
from bot.channels.telegram import TelegramSender
from bot.messages import Reply, SentMessage, TransientError
from bot.services import Services, build_services
from bot.settings import Settings
from handlers.broadcast_staff import VIEWS
from tests.broadcast.conftest import add_subscribers
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, RateLimit

TOKEN = "123:TEST"
ADMIN = 999


def make_services(tmp_path: Path, db_url: str | None = None, **extra: Any) -> Services:
    """Services on a fresh database with the test knowledge base."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url or f"sqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=write_knowledge(tmp_path / "kb"),
        admin_telegram_ids=frozenset({ADMIN}),
        broadcast_poll_interval=0.05,
        broadcast_progress_interval=0.3,
        schedule_sync_interval=0.2,
        **extra,
    )
    return build_services(settings)


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB Bot talking to the fake server."""
    async with Bot(TOKEN, base_url=fake_telegram.base_url) as tg_bot:
        yield tg_bot


async def wait_until(predicate: Callable[[], bool], within: float = 20.0) -> None:
    """Poll ``predicate`` until it holds."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def status_of(services: Services, broadcast_id: int) -> service.BroadcastStatus:
    status = service.broadcast_status(sessions=services.sessions, broadcast_id=broadcast_id)
    assert status is not None
    return status


def notices_by_chat(tg: FakeTelegram) -> Counter[int]:
    """How many notices (messages with the unsubscribe button) each chat received."""
    return Counter(
        int(c.params["chat_id"])
        for c in tg.calls_to("sendmessage")
        if any(b.get("callback_data") == "unsub" for b in tg.buttons(c))
    )


class FlakySender:
    """The real Telegram sender, but chats in ``flaky`` first fail ``failures`` times with a network error."""

    channel = "telegram"

    def __init__(self, inner: TelegramSender, flaky: set[str], failures: int) -> None:
        self.inner = inner
        self.flaky = flaky
        self.failures = failures
        self.seen: Counter[str] = Counter()

    async def send(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        self.seen[chat_id] += 1
        if chat_id in self.flaky and self.seen[chat_id] <= self.failures:
            raise TransientError("connection reset")
        return await self.inner.send(chat_id, replies)


async def test_blocked_users_do_not_stop_the_others_and_progress_is_reported(
    tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot
) -> None:
    services = make_services(tmp_path, broadcast_rate_per_second=60)
    ids = add_subscribers(services.sessions, 40)
    fake_telegram.blocked_chats |= {ids[3], ids[17]}
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    try:
        status_message = await bot.send_message(ADMIN, "…")
        bid = service.create_broadcast(
            sessions=services.sessions, text="Cảnh báo: giả danh **công an** gọi điện", report_channel="telegram",
            report_chat_id=str(ADMIN), progress_message_id=str(status_message.message_id),
        )  # fmt: skip
        assert bid is not None
        await wait_until(lambda: status_of(services, bid).status == "done")
        # 38 notices, the "…" message, the final report
        await wait_until(lambda: len(fake_telegram.calls_to("sendmessage")) >= 38 + 1 + 1)
    finally:
        await runtime.stop()
    final = status_of(services, bid)
    assert (final.sent, final.blocked, final.failed, final.remaining) == (38, 2, 0, 0)
    received = notices_by_chat(fake_telegram)
    assert set(received) == set(ids) - {ids[3], ids[17]} and set(received.values()) == {1}
    with services.sessions() as session:
        from bot.storage import repo

        user = repo.get_user(session=session, channel="telegram", external_id=str(ids[3]))
        assert user is not None and user.is_active is False
    report = fake_telegram.sent(ADMIN)[-1]
    assert "Đã gửi xong thông báo" in report.params["text"] and "38/40" in report.params["text"]
    edits = [c for c in fake_telegram.calls_to("editmessagetext") if int(c.params["chat_id"]) == ADMIN]
    assert edits and "Đã gửi xong" in edits[-1].params["text"]  # the progress message became the report
    services.close()


async def test_rate_limit_429_is_respected_and_network_errors_retry_then_fail(
    tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot
) -> None:
    fake_telegram.rate_limit = RateLimit(global_per_second=10, per_chat_per_second=1)
    services = make_services(tmp_path, broadcast_rate_per_second=40, broadcast_max_attempts=3)  # too fast on purpose
    ids = add_subscribers(services.sessions, 30)
    flaky = FlakySender(TelegramSender(bot), {str(ids[0]), str(ids[1])}, failures=1)
    flaky.flaky.add(str(ids[2]))
    runtime = BroadcastRuntime(services, {"telegram": flaky}, VIEWS)
    flaky.failures = 1
    never = str(ids[2])
    original = flaky.send

    async def send(chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        if chat_id == never:
            raise TransientError("HTTP 502 Bad Gateway")
        return await original(chat_id, replies)

    flaky.send = send  # type: ignore[method-assign]
    runtime.workers[0].config = type(runtime.workers[0].config)(
        batch_size=10, max_attempts=3, poll_interval=0.05, backoff_base=0.05
    )
    await runtime.start()
    try:
        bid = service.create_broadcast(sessions=services.sessions, text="Thông báo")
        assert bid is not None
        await wait_until(lambda: status_of(services, bid).status == "done", within=30)
    finally:
        await runtime.stop()
    final = status_of(services, bid)
    assert (final.sent, final.failed) == (29, 1)
    assert fake_telegram.calls_to("sendmessage", ok=False), "the fake server should have answered 429 at least once"
    assert runtime.limiters["telegram"].throttled >= 1
    received = notices_by_chat(fake_telegram)
    assert set(received.values()) == {1} and len(received) == 29
    with services.sessions() as session:
        from sqlalchemy import select

        from bot.broadcast.models import Delivery

        failed = session.scalars(select(Delivery).where(Delivery.status == "failed")).one()
        assert failed.chat_id == never and failed.attempts == 3 and "502" in (failed.reason or "")
    services.close()


async def test_eligibility_hook_skips_with_a_reason(tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot) -> None:
    services = make_services(tmp_path, broadcast_rate_per_second=0)
    ids = add_subscribers(services.sessions, 6)

    async def only_even(chat_id: str) -> str | None:
        return None if int(chat_id) % 2 == 0 else "outside the 48-hour window"

    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS, eligibility={"telegram": only_even})
    await runtime.start()
    try:
        bid = service.create_broadcast(sessions=services.sessions, text="x")
        assert bid is not None
        await wait_until(lambda: status_of(services, bid).status == "done")
    finally:
        await runtime.stop()
    final = status_of(services, bid)
    assert (final.sent, final.skipped) == (3, 3)
    assert set(notices_by_chat(fake_telegram)) == {i for i in ids if i % 2 == 0}
    services.close()


async def test_scheduled_broadcast_fires_at_its_time(tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot) -> None:
    services = make_services(tmp_path)
    ids = add_subscribers(services.sessions, 5)
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    try:
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
        bid = service.create_broadcast(sessions=services.sessions, text="Hẹn giờ", scheduled_at=when)
        assert bid is not None
        await asyncio.sleep(0.8)
        assert notices_by_chat(fake_telegram) == Counter()  # not before its time
        await wait_until(lambda: status_of(services, bid).status == "done", within=15)
        first = min(c.at for c in fake_telegram.calls_to("sendmessage"))
        assert first >= fake_telegram.calls[0].at  # sanity: recorded
    finally:
        await runtime.stop()
    assert set(notices_by_chat(fake_telegram)) == set(ids)
    assert status_of(services, bid).started_at is not None
    assert status_of(services, bid).started_at >= when - dt.timedelta(seconds=0.05)  # type: ignore[operator]
    services.close()


async def test_missed_while_down_is_sent_within_grace_or_reported(
    tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot
) -> None:
    services = make_services(tmp_path, schedule_grace_seconds=60)
    ids = add_subscribers(services.sessions, 3)
    now = dt.datetime.now(dt.UTC)
    recent = service.create_broadcast(
        sessions=services.sessions, text="Trễ 10 giây", scheduled_at=now - dt.timedelta(seconds=10)
    )
    old = service.create_broadcast(
        sessions=services.sessions, text="Trễ hai tiếng", scheduled_at=now - dt.timedelta(hours=2)
    )
    assert recent is not None and old is not None
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    try:
        await wait_until(lambda: status_of(services, recent).status == "done")
        await wait_until(lambda: status_of(services, old).status == "missed")
        await wait_until(lambda: bool(fake_telegram.sent(ADMIN)))
    finally:
        await runtime.stop()
    assert notices_by_chat(fake_telegram) == Counter({i: 1 for i in ids})
    warning = fake_telegram.sent(ADMIN)[0].params["text"]
    assert "không được gửi" in warning and "Trễ hai tiếng" in warning
    # a restart neither resends nor reports again
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    await asyncio.sleep(0.8)
    await runtime.stop()
    assert notices_by_chat(fake_telegram) == Counter({i: 1 for i in ids})
    assert len(fake_telegram.sent(ADMIN)) == 1
    services.close()


async def test_planned_notice_from_yaml_fires_once_and_syncs_on_reload(
    tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot
) -> None:
    services = make_services(tmp_path)
    ids = add_subscribers(services.sessions, 4)
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    try:
        local = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=62)).astimezone(runtime.timezone)
        at = local.replace(second=0, microsecond=0)
        kb = services.settings.knowledge_dir
        (kb / "_schedule.yaml").write_text(
            textwrap.dedent(
                f"""\
                notices:
                  - id: nhac-hop
                    text: Nhắc họp tổ dân phố
                    at: "{at:%Y-%m-%d %H:%M}"
                """
            ),
            encoding="utf-8",
        )
        outcome = services.knowledge.reload()
        assert outcome.ok, outcome.problems
        await wait_until(lambda: runtime.scheduler is not None and "planned-nhac-hop" in runtime.scheduler.job_ids())
        # firing the job twice (e.g. two leaders in a row) creates one broadcast only
        await runtime.fire_planned("nhac-hop")
        await runtime.fire_planned("nhac-hop")
        rows = service.list_broadcasts(sessions=services.sessions)
        assert len(rows) == 1 and rows[0].key is not None and rows[0].key.startswith("planned:nhac-hop:")
        await wait_until(lambda: status_of(services, rows[0].id).status == "done")
    finally:
        await runtime.stop()
    assert notices_by_chat(fake_telegram) == Counter({i: 1 for i in ids})
    services.close()


async def test_leader_schedules_the_daily_question_log_purge(
    tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot
) -> None:
    from bot import retention

    services = make_services(tmp_path)
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    try:
        await wait_until(lambda: runtime.scheduler is not None and retention.JOB_ID in runtime.scheduler.job_ids())
        assert runtime.scheduler is not None
        job = runtime.scheduler.scheduler.get_job(retention.JOB_ID)
        assert job is not None and job.next_run_time is not None
        local = job.next_run_time.astimezone(runtime.timezone)
        assert (local.hour, local.minute) == (3, 17)
        assert await retention.daily_purge() == 0  # wired to this bot's database: nothing old to delete yet
    finally:
        await runtime.stop()
        retention.set_purge_target(None)
    services.close()


async def test_cron_run_missed_while_down_is_sent_once_on_start(
    tmp_path: Path, fake_telegram: FakeTelegram, bot: Bot
) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.broadcast.scheduler import NoticeScheduler

    services = make_services(tmp_path)
    ids = add_subscribers(services.sessions, 3)
    kb = services.settings.knowledge_dir
    (kb / "_schedule.yaml").write_text(
        'notices:\n  - id: moi-phut\n    text: Nhắc mỗi giờ\n    cron: "0 * * * *"\n', encoding="utf-8"
    )
    assert services.knowledge.reload().ok
    runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
    await runtime.start()
    await wait_until(lambda: runtime.scheduler is not None and "planned-moi-phut" in runtime.scheduler.job_ids())
    await runtime.stop()
    # while the bot is "down", the hourly run comes due: move the stored run time 20 minutes into the past
    stored = NoticeScheduler(
        engine=services.engine,  # type: ignore[arg-type]
        timezone=services.settings.bot_timezone,
        grace_seconds=3600,
        on_missed=lambda *_: None,
    )
    scheduler: AsyncIOScheduler = stored.scheduler
    scheduler.start(paused=True)
    due = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=20)
    scheduler.get_job("planned-moi-phut").modify(next_run_time=due)
    scheduler.shutdown(wait=False)
    assert notices_by_chat(fake_telegram) == Counter()
    for _ in range(2):  # two restarts: sent on the first, not again on the second
        runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
        await runtime.start()
        await wait_until(lambda: len(notices_by_chat(fake_telegram)) == 3)
        await asyncio.sleep(0.5)
        await runtime.stop()
    assert notices_by_chat(fake_telegram) == Counter({i: 1 for i in ids})
    [row] = service.list_broadcasts(sessions=services.sessions, statuses=None)
    assert row.key is not None and row.key.startswith("planned:moi-phut:")
    services.close()
