"""Broadcast delivery speed through the fake Bot API server: sustained rate under Telegram's limit, and the ceiling.

Run from the repository root::

    python -m benchmarks.bench_broadcast [--subscribers 10000] [--rate 30] [--ceiling-subscribers 3000]
                                         [--database-url URL]

* limited: ``--subscribers`` recipients, the fake server answering 429 above ``--rate`` messages/s overall and
  1/s per chat, the engine configured for the same rate. Sustained = messages / (last send − first send).
  Target: ≥ 90 % of the limit, zero duplicates, zero losses.
* ceiling: ``--ceiling-subscribers`` recipients with the limit off on both sides: the engine's own speed
  (one worker, a database write after every message; the fake server shares this process and its CPU).

The database is a fresh SQLite file unless ``--database-url`` names another (e.g. an empty PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot

from bot.broadcast import service
from bot.broadcast.runtime import BroadcastRuntime
from bot.channels.telegram import TelegramSender
from bot.services import build_services
from bot.settings import Settings
from handlers.broadcast_staff import VIEWS
from tests.broadcast.conftest import add_subscribers
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, RateLimit

TOKEN = "123:TEST"


@dataclass
class Outcome:
    """What one run measured."""

    name: str
    limit: str
    subscribers: int
    delivered: int
    duplicates: int
    lost: int
    throttled: int
    wall: float
    sustained: float


async def run_once(name: str, subscribers: int, rate: float | None, folder: Path, database_url: str | None) -> Outcome:
    """One broadcast to ``subscribers`` fresh users; ``rate`` None means no limit anywhere."""
    url = database_url or f"sqlite:///{folder / f'{name}.db'}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        knowledge_dir=write_knowledge(folder / "kb"),
        broadcast_rate_per_second=rate or 0,
        broadcast_poll_interval=0.05,
        broadcast_batch_size=20,
    )
    services = build_services(settings)
    ids = add_subscribers(services.sessions, subscribers, first_id=1_000_000)
    limit = RateLimit(global_per_second=rate, per_chat_per_second=1.0) if rate else None
    with FakeTelegram(rate_limit=limit) as tg:
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
            await runtime.start()
            start = time.perf_counter()
            broadcast_id = service.create_broadcast(sessions=services.sessions, text="Thông báo thử tốc độ gửi.")
            assert broadcast_id is not None
            while True:
                status = await asyncio.to_thread(
                    service.broadcast_status, sessions=services.sessions, broadcast_id=broadcast_id
                )
                if status is not None and status.status == "done":
                    break
                await asyncio.sleep(1.0)
            wall = time.perf_counter() - start
            await runtime.stop()
        ok = [c for c in tg.calls_to("sendmessage")]
        throttled = len([c for c in tg.calls_to("sendmessage", ok=False) if (c.error or "").startswith("Too Many")])
    services.close()
    counts = Counter(int(c.params["chat_id"]) for c in ok)
    span = max(c.at for c in ok) - min(c.at for c in ok) if len(ok) > 1 else wall
    return Outcome(
        name=name,
        limit=f"{rate:g}/s, 1/s per chat" if rate else "off",
        subscribers=subscribers,
        delivered=len(counts),
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        lost=len(set(ids) - set(counts)),
        throttled=throttled,
        wall=wall,
        sustained=(len(ok) - 1) / span if span > 0 else float("nan"),
    )


def table(rows: list[Outcome]) -> str:
    """A plain-text table of the outcomes."""
    head = (
        f"{'run':<9} {'limit':<20} {'subscribers':>11} {'delivered':>9} {'dupes':>5} {'lost':>4} "
        f"{'429s':>5} {'wall s':>7} {'msgs/s':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.name:<9} {r.limit:<20} {r.subscribers:>11} {r.delivered:>9} {r.duplicates:>5} {r.lost:>4} "
            f"{r.throttled:>5} {r.wall:>7.1f} {r.sustained:>7.1f}"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    """Run the limited and the ceiling benchmark and print the table."""
    rows: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.subscribers > 0:
            rows.append(await run_once("limited", args.subscribers, args.rate, folder, args.database_url))
        if args.ceiling_subscribers > 0 and args.database_url is None:
            rows.append(await run_once("ceiling", args.ceiling_subscribers, None, folder, None))
    print("command: python -m benchmarks.bench_broadcast " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    print(table(rows))
    limited = next((r for r in rows if r.name == "limited"), None)
    if limited is not None:
        target = 0.9 * args.rate
        verdict = "PASS" if limited.sustained >= target and limited.duplicates == 0 and limited.lost == 0 else "FAIL"
        print(f"target: sustained ≥ {target:g} msgs/s (90 % of {args.rate:g}), 0 duplicates, 0 lost → {verdict}")
        return 0 if verdict == "PASS" else 1
    return 0


def main() -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--ceiling-subscribers", type=int, default=3_000)
    parser.add_argument("--database-url", default=None, help="an empty database to use instead of SQLite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
