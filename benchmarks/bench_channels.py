"""The outbound path under load and faults: replies during a broadcast, replies and broadcasts under a fault mix.

Run from the repository root: ``python -m benchmarks.bench_channels [--subscribers 600] [--citizens 100]``.

The whole bot (``serve_telegram``: the shipped knowledge base, SQLite, the real PTB Application) runs against
the fake Bot API with Telegram-like limits (30 messages/s overall, 1/s per chat, 429 with ``retry_after``).

* **broadcast + questions**: a notice to ``--subscribers`` people at 30 msg/s while ``--citizens`` people ask
  a labelled question each, at 4 per second; the same questions alone give the baseline. Reply latency is from
  the update's injection to the fake server receiving the first answer.
* **fault mix on replies**: 200 citizens ask while the fake answers 5 % of sends with 429, 5 % with 500, 5 % by
  dropping the connection before and 5 % after delivering, 2 % slowly (6 s, beyond PTB's default timeout).
* **broadcast under the fault mix**: a notice to 200 subscribers with the same faults: extra messages
  (duplicates) and people left without it.

Targets: 0 replies lost, reply p95 added latency ≤ 2 s during the broadcast, 0 lost under the fault mix.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.questions import load_questions
from bot.app import serve_telegram
from bot.broadcast import service
from bot.services import build_services
from bot.settings import Settings
from tests.broadcast.conftest import add_subscribers
from tests.fakes.telegram_api import FakeTelegram, RateLimit, free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123:TEST"
FAULT_MIX = {"429": 0.05, "500": 0.05, "reset_before": 0.05, "reset_after": 0.05, "slow": 0.02}
NOTICE = "Thông báo thử: lịch cắt điện khu phố 3 sáng thứ Bảy."


@dataclass
class Row:
    """One line of the table."""

    scenario: str
    people: int
    answered: int
    lost: int
    extra: int
    p50: float | None = None
    p95: float | None = None
    note: str = ""


def settings_for(tg: FakeTelegram, folder: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_base_url=tg.base_url,
        database_url=f"sqlite:///{folder / 'bot.db'}",
        knowledge_dir=ROOT / "knowledge",
        http_port=free_port(),
        broadcast_poll_interval=0.2,
        broadcast_batch_size=20,
        log_level="ERROR",
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bot:
    """The whole bot running in this event loop against ``tg``."""

    def __init__(self, tg: FakeTelegram, folder: Path) -> None:
        self.tg = tg
        self.settings = settings_for(tg, folder)
        self.services = build_services(self.settings)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> Bot:
        self.task = asyncio.create_task(serve_telegram(self.settings, self.services, stop=self.stop, host="127.0.0.1"))
        await self.tg.wait_for(lambda: bool(self.tg.calls_to("getupdates", ok=None)), within=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


async def ask(tg: FakeTelegram, chats: list[int], questions: list[str], per_second: float) -> dict[int, int]:
    """Inject one question per chat at ``per_second``; returns chat → update id."""
    sent: dict[int, int] = {}
    for chat, question in zip(chats, questions, strict=False):
        sent[chat] = tg.inject_message(chat_id=chat, text=question)
        await asyncio.sleep(1.0 / per_second)
    return sent


async def collect(tg: FakeTelegram, sent: dict[int, int], within: float) -> tuple[list[float], int, int]:
    """Latencies of first answers, how many chats got none, and extra answers (one expected per chat)."""
    for _ in range(int(within / 0.2)):  # a slow poll: the check scans every call the fake recorded
        if all(tg.sent(c) for c in sent):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # late duplicates
    latencies: list[float] = []
    lost = 0
    counts: Counter[int] = Counter()
    for chat, update_id in sent.items():
        answers = tg.sent(chat)
        if not answers:
            lost += 1
            continue
        counts[chat] = len(answers)
        latencies.append(answers[0].at - tg.injected_at[update_id])
    usual = statistics.mode(counts.values()) if counts else 1
    return latencies, lost, sum(max(0, n - usual) for n in counts.values())


async def questions_during_broadcast(args: argparse.Namespace, questions: list[str], folder: Path) -> list[Row]:
    rows: list[Row] = []
    for label, with_broadcast in (("questions alone (baseline)", False), ("questions during a broadcast", True)):
        sub = folder / label.split()[2]
        sub.mkdir()
        with FakeTelegram(rate_limit=RateLimit(global_per_second=30, per_chat_per_second=1)) as tg:
            async with Bot(tg, sub) as bot:
                if with_broadcast:
                    add_subscribers(bot.services.sessions, args.subscribers, first_id=5_000_000)
                    service.create_broadcast(sessions=bot.services.sessions, text=NOTICE)
                    await asyncio.sleep(2.0)  # the broadcast is under way
                chats = list(range(100, 100 + args.citizens))
                sent = await ask(tg, chats, questions, 4.0)
                latencies, lost, extra = await collect(tg, sent, 120)
                note = ""
                if with_broadcast:
                    status = service.broadcast_status(sessions=bot.services.sessions, broadcast_id=1)
                    note = f"notice sent to {status.sent if status else '?'}/{args.subscribers} so far"
        rows.append(Row(label, len(chats), len(chats) - lost, lost, extra, percentile(latencies, 0.5),
                        percentile(latencies, 0.95), note))
    return rows


async def replies_under_faults(questions: list[str], folder: Path) -> Row:
    sub = folder / "faults"
    sub.mkdir()
    with FakeTelegram(rate_limit=RateLimit(global_per_second=30, per_chat_per_second=1)) as tg:
        async with Bot(tg, sub):
            tg.faults.mix = dict(FAULT_MIX)
            chats = list(range(20_000, 20_200))
            sent = await ask(tg, chats, (questions * 2)[:200], 10.0)
            latencies, lost, extra = await collect(tg, sent, 180)
            tg.faults.mix = {}
        injected = sum(tg.faults.injected.values())
    return Row("replies under the fault mix", len(chats), len(chats) - lost, lost, extra,
               percentile(latencies, 0.5), percentile(latencies, 0.95), f"{injected} faults injected")


async def broadcast_under_faults(folder: Path) -> Row:
    sub = folder / "bfaults"
    sub.mkdir()
    with FakeTelegram(rate_limit=RateLimit(global_per_second=30, per_chat_per_second=1)) as tg:
        async with Bot(tg, sub) as bot:
            ids = add_subscribers(bot.services.sessions, 200, first_id=6_000_000)
            tg.faults.mix = dict(FAULT_MIX)
            service.create_broadcast(sessions=bot.services.sessions, text=NOTICE)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                status = service.broadcast_status(sessions=bot.services.sessions, broadcast_id=1)
                if status is not None and status.status == "done":
                    break
                await asyncio.sleep(0.5)
            tg.faults.mix = {}
            status = service.broadcast_status(sessions=bot.services.sessions, broadcast_id=1)
        counts = Counter(int(c.params["chat_id"]) for c in tg.sent() if NOTICE.split(":")[0] in str(c.params["text"]))
        injected = sum(tg.faults.injected.values())
    got = [i for i in ids if counts.get(i)]
    failed = status.failed if status else -1
    return Row("broadcast under the fault mix", len(ids), len(got), len(ids) - len(got),
               sum(counts[i] - 1 for i in got), note=f"{injected} faults; {failed} recorded failed")


def table(rows: list[Row]) -> str:
    def sec(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    lines = [
        "| scenario | people | answered | lost | extra messages | p50 s | p95 s | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.scenario} | {r.people} | {r.answered} | {r.lost} | {r.extra} | {sec(r.p50)} | {sec(r.p95)} | {r.note} |"
        for r in rows
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    questions = [q.text for q in load_questions() if q.split == "test"][: max(args.citizens, 100)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = await questions_during_broadcast(args, questions, folder)
        rows.append(await replies_under_faults(questions, folder))
        rows.append(await broadcast_under_faults(folder))
    print(f"\nOutbound path (Telegram-like limits 30/s, 1/s per chat; {args.subscribers} subscribers)\n")
    print(table(rows))
    added = (rows[1].p95 or 0) - (rows[0].p95 or 0)
    print(f"\nreply p95 added by the broadcast: {added:.2f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=600)
    parser.add_argument("--citizens", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
