"""``GET /metrics``: Prometheus counters, gauges and the latency histogram over real HTTP.

The whole bot runs in-process (``serve_telegram`` against the fake Bot API, ``serve_zalo`` against the fake
Zalo OA API). Counters are process-global, so every check compares a reading before and after.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot

from bot.app import serve_telegram, serve_zalo
from bot.channels.telegram import TelegramSender
from bot.kb.result import Decision
from bot.kb.store import KnowledgeStore
from bot.messages import RateLimited, Reply
from bot.services import build_services
from bot.settings import Settings
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, RateLimit, free_port
from tests.fakes.zalo_api import FakeZalo, sign_event, text_event

TOKEN = "123:TEST"
ZALO_OA_SECRET = "oa-secret-TEST"
ANSWERED = "gia hạn bhyt hộ gia đình"
DECLINE_CANDIDATES = ("thời tiết ngày mai ra sao", "công thức nấu phở bò", "giá vàng hôm nay")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(body: str) -> Samples:
    """Every sample of a /metrics answer, keyed by (sample name, sorted labels)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when it has not appeared yet (a label set never counted)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(port: int) -> Samples:
    """GET /metrics and parse it, checking the status and content type."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "version=" in response.headers["content-type"]
    return parse(response.text)


def telegram_settings(tg: FakeTelegram, kb_dir: Path, tmp_path: Path, **extra: Any) -> Settings:
    """Settings pointing at the fake Bot API, a temporary database and the shared test knowledge."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_base_url=tg.base_url,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=kb_dir,
        http_port=free_port(),
        **extra,
    )


async def start_telegram(tg: FakeTelegram, settings: Settings) -> tuple[asyncio.Event, asyncio.Task[int]]:
    """Start ``serve_telegram`` and wait until it polls (or has set its webhook)."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve_telegram(settings, build_services(settings), stop=stop, host="127.0.0.1"))
    ready = "setwebhook" if settings.telegram_webhook_url else "getupdates"
    await tg.wait_for(lambda: bool(tg.calls_to(ready, ok=None)) or task.done())
    assert not task.done(), "the bot stopped during startup"
    return stop, task


async def stop_bot(stop: asyncio.Event, task: asyncio.Task[int]) -> None:
    """Stop a running bot and check it exited cleanly."""
    stop.set()
    assert await asyncio.wait_for(task, 20) == 0


def decline_query(store: KnowledgeStore) -> str:
    """A question the current search tuning declines (the engine is tuned often)."""
    for query in DECLINE_CANDIDATES:
        if store.search(query).decision is Decision.DECLINE:
            return query
    pytest.skip(f"with the current search tuning none of {DECLINE_CANDIDATES} is declined")


async def test_question_and_decline_move_the_counters(
    fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path
) -> None:
    tg = fake_telegram
    store = KnowledgeStore.open(kb_dir)
    answered = store.search(ANSWERED).decision.value
    declined = decline_query(store)
    settings = telegram_settings(tg, kb_dir, tmp_path)
    stop, task = await start_telegram(tg, settings)
    try:
        before = await scrape(settings.http_port)
        tg.inject_message(chat_id=7001, text=ANSWERED)
        await tg.wait_for_sent(1, 7001)
        tg.inject_message(chat_id=7001, text=declined)
        await tg.wait_for_sent(2, 7001)
        after = await scrape(settings.http_port)
    finally:
        await stop_bot(stop, task)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("troly_updates_received_total", channel="telegram") == 2
    expected = {d.value: 0 for d in Decision}
    expected[answered] += 1
    expected[Decision.DECLINE.value] += 1
    assert {d: delta("troly_questions_total", decision=d) for d in expected} == expected
    assert delta("troly_answer_latency_seconds_count") == 2
    assert delta("troly_answer_latency_seconds_sum") > 0
    assert delta("troly_answer_latency_seconds_bucket", le="+Inf") == 2
    assert value(after, "troly_knowledge_entries") == len(store.kb.entries) == 6
    assert abs(value(after, "troly_knowledge_loaded_timestamp_seconds") - time.time()) < 600


async def test_knowledge_gauges_follow_a_reload(kb_dir: Path) -> None:
    from bot import metrics

    store = KnowledgeStore.open(kb_dir)
    first = parse(metrics.render().decode())
    assert value(first, "troly_knowledge_entries") == 6
    (kb_dir / "extra.yaml").write_text(
        "category: extra\ntitle: Thêm\nentries:\n  - id: extra-1\n    question: Giờ làm việc của phường?\n"
        "    answer: Từ thứ Hai đến thứ Sáu.\n",
        encoding="utf-8",
    )
    assert store.reload().ok
    second = parse(metrics.render().decode())
    assert value(second, "troly_knowledge_entries") == 7
    assert value(second, "troly_knowledge_loaded_timestamp_seconds") >= value(
        first, "troly_knowledge_loaded_timestamp_seconds"
    )


async def test_metrics_in_webhook_mode(fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path) -> None:
    settings = telegram_settings(fake_telegram, kb_dir, tmp_path, telegram_webhook_url="https://bot.example.org")
    stop, task = await start_telegram(fake_telegram, settings)
    try:
        samples = await scrape(settings.http_port)
    finally:
        await stop_bot(stop, task)
    assert value(samples, "troly_knowledge_entries") == 6
    assert ("troly_questions_total", (("decision", "decline"),)) in samples


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB's RetryAfter
async def test_telegram_429s_are_counted(fake_telegram: FakeTelegram) -> None:
    from bot import metrics

    before = parse(metrics.render().decode())
    fake_telegram.rate_limit = RateLimit(global_per_second=100, per_chat_per_second=1, retry_after=3)
    async with Bot(TOKEN, base_url=fake_telegram.base_url) as ptb_bot:
        sender = TelegramSender(ptb_bot)
        await sender.send("7101", [Reply(text="một")])
        with pytest.raises(RateLimited):
            await sender.send("7101", [Reply(text="hai")])
    after = parse(metrics.render().decode())
    name = "troly_rate_limited_total"
    assert value(after, name, channel="telegram") - value(before, name, channel="telegram") == 1


async def test_metrics_in_zalo_only_mode(tmp_path: Path) -> None:
    with FakeZalo() as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            knowledge_dir=write_knowledge(tmp_path / "kb"),
            http_port=free_port(),
            zalo_app_id=fake.app_id,
            zalo_app_secret=fake.app_secret,
            zalo_oa_secret_key=ZALO_OA_SECRET,
            zalo_oa_access_token=fake.access_token,
            zalo_oa_refresh_token=fake.refresh_token,
            zalo_api_base_url=fake.base_url,
            zalo_oauth_base_url=fake.base_url,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(serve_zalo(settings, build_services(settings), stop=stop, host="127.0.0.1"))
        base = f"http://127.0.0.1:{settings.http_port}"
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for _ in range(500):
                    assert not task.done(), "serve_zalo stopped during startup"
                    try:
                        if (await client.get(base + "/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.02)
                before = await scrape(settings.http_port)
                event = text_event(fake.app_id, "zalo-user-1", ANSWERED, "msg-metrics-1")
                signed = sign_event(event, app_id=fake.app_id, secret=ZALO_OA_SECRET)
                response = await client.post(base + "/zalo/webhook", content=signed.body, headers=signed.headers)
                assert response.status_code == 200
                await fake.wait_for_sent("zalo-user-1", 1)
                after = await scrape(settings.http_port)
        finally:
            await stop_bot(stop, task)
    name = "troly_updates_received_total"
    assert value(after, name, channel="zalo") - value(before, name, channel="zalo") == 1
    assert value(after, "troly_answer_latency_seconds_count") - value(before, "troly_answer_latency_seconds_count") == 1


async def test_broadcast_deliveries_are_counted_by_final_status(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    from bot import metrics
    from bot.broadcast import service
    from bot.broadcast.runtime import BroadcastRuntime
    from handlers.broadcast_staff import VIEWS
    from tests.broadcast.conftest import add_subscribers

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=write_knowledge(tmp_path / "kb"),
        broadcast_poll_interval=0.05,
        broadcast_rate_per_second=60,
    )
    services = build_services(settings)
    ids = add_subscribers(services.sessions, 5, first_id=720_000)
    fake_telegram.blocked_chats.add(ids[2])
    before = parse(metrics.render().decode())
    async with Bot(TOKEN, base_url=fake_telegram.base_url) as ptb_bot:
        runtime = BroadcastRuntime(services, {"telegram": TelegramSender(ptb_bot)}, VIEWS)
        await runtime.start()
        try:
            bid = service.create_broadcast(sessions=services.sessions, text="Thông báo thử")
            assert bid is not None
            for _ in range(1000):
                status = service.broadcast_status(sessions=services.sessions, broadcast_id=bid)
                if status is not None and status.status == "done":
                    break
                await asyncio.sleep(0.02)
            else:
                pytest.fail("the broadcast did not finish")
        finally:
            await runtime.stop()
            services.close()
    after = parse(metrics.render().decode())
    name = "troly_deliveries_total"
    deltas = {
        s: value(after, name, channel="telegram", status=s) - value(before, name, channel="telegram", status=s)
        for s in ("sent", "blocked", "failed", "skipped")
    }
    assert deltas == {"sent": 4, "blocked": 1, "failed": 0, "skipped": 0}
