"""Broadcast delivery speed through the fake Bot API server: sustained rate under Telegram's limit, and the ceiling.

Run from the repository root::

    python -m benchmarks.bench_broadcast [--subscribers 10000] [--rate 30] [--ceiling-subscribers 3000]
                                         [--history 1000000] [--purge] [--database-url URL]

* limited: ``--subscribers`` recipients, the fake server answering 429 above ``--rate`` messages/s overall and
  1/s per chat, the engine configured for the same rate. Sustained = messages / (last send − first send).
  Target: ≥ 90 % of the limit, zero duplicates, zero losses.
* ceiling: ``--ceiling-subscribers`` recipients with the limit off on both sides: the engine's own speed
  (one worker, a database write after every message; the fake server shares this process and its CPU).

* scale (with ``--history N``): before the limited run, N delivery rows of old finished notices are seeded with
  one bulk ``INSERT … SELECT`` (the subscribers × old notices). Then, on a probe notice to every subscriber:
  the claim's p50/p99 over repeated batches, and the progress count (``broadcast_status``). During the limited
  run every database round trip of the bot's engine is counted (statements, plus BEGIN and COMMIT where they
  are separate round trips) and divided by the messages delivered. With ``--purge``, the retention purge of
  the history is timed at the end. Targets: claim p99 ≤ 5 ms, ≤ 2 round trips per delivered message.

The database is a fresh SQLite file unless ``--database-url`` names another (e.g. an empty PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot import retention
from bot.broadcast import engine as delivery_engine
from bot.broadcast import service
from bot.broadcast.models import SENT, Delivery
from bot.broadcast.runtime import BroadcastRuntime
from bot.channels.telegram import TelegramSender
from bot.services import build_services
from bot.settings import Settings
from handlers.broadcast_staff import VIEWS
from tests.broadcast.conftest import RoundTrips, add_subscribers, seed_history
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
    round_trips: float = float("nan")  # database round trips per delivered message


@dataclass
class Scale:
    """What the scale measurements found."""

    history: int
    seed_s: float
    claims: int
    claim_p50_ms: float
    claim_p99_ms: float
    progress_ms: float
    purged: int = 0
    purge_s: float = float("nan")


def measure_claims(sessions: sessionmaker[Session], history: int, seed_s: float, samples: int = 300) -> Scale:
    """Claim batches of a probe notice to every subscriber and time each claim and the progress count."""
    probe = service.create_broadcast(sessions=sessions, text="Thông báo thăm dò.")
    assert probe is not None
    timings: list[float] = []
    delivery_engine.claim_batch(  # warm-up: the first call compiles the statement and opens a connection
        sessions=sessions, channel="telegram", token="probe", limit=0, lease_seconds=60
    )
    cursor = 0
    for _ in range(samples):
        started = time.perf_counter()
        batch = delivery_engine.claim_batch(  # as a worker does: after the last claimed id
            sessions=sessions, channel="telegram", token="probe", limit=20, lease_seconds=60, after=cursor
        )
        timings.append((time.perf_counter() - started) * 1000)
        if not batch:
            break
        cursor = max(c.id for c in batch)
        with sessions.begin() as session:  # as if sent: the next claim must skip them like history
            session.execute(update(Delivery).where(Delivery.id.in_([c.id for c in batch])).values(status=SENT))
    progress: list[float] = []
    for _ in range(20):
        started = time.perf_counter()
        service.broadcast_status(sessions=sessions, broadcast_id=probe)
        progress.append((time.perf_counter() - started) * 1000)
    service.cancel_broadcast(sessions=sessions, broadcast_id=probe)
    ordered = sorted(timings)
    return Scale(
        history=history,
        seed_s=seed_s,
        claims=len(timings),
        claim_p50_ms=statistics.median(ordered),
        claim_p99_ms=ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        progress_ms=statistics.median(progress),
    )


def purge_history(sessions: sessionmaker[Session], scale: Scale) -> None:
    """Time the retention purge of the seeded history (its notices ended 400 days ago)."""
    started = time.perf_counter()
    scale.purged = retention.purge_old_deliveries(sessionmaker=sessions, older_than_days=90)
    scale.purge_s = time.perf_counter() - started


async def run_once(
    name: str,
    subscribers: int,
    rate: float | None,
    folder: Path,
    database_url: str | None,
    *,
    history: int = 0,
    purge: bool = False,
    scales: list[Scale] | None = None,
) -> Outcome:
    """One broadcast to ``subscribers`` fresh users; ``rate`` None means no limit anywhere. With ``history``,
    old delivery rows are seeded first and the scale measurements appended to ``scales``."""
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
    scale: Scale | None = None
    if history > 0:
        scale = measure_claims(services.sessions, history, seed_history(services.sessions, history))
        if scales is not None:
            scales.append(scale)
    assert services.engine is not None
    trips = RoundTrips(services.engine)
    limit = RateLimit(global_per_second=rate, per_chat_per_second=1.0) if rate else None
    with FakeTelegram(rate_limit=limit) as tg:
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            runtime = BroadcastRuntime(services, {"telegram": TelegramSender(bot)}, VIEWS)
            await runtime.start()
            start = time.perf_counter()
            broadcast_id = service.create_broadcast(sessions=services.sessions, text="Thông báo thử tốc độ gửi.")
            assert broadcast_id is not None
            watcher = sessionmaker(bind=service_engine(url))  # polled outside the bot's engine: not counted
            while True:
                status = await asyncio.to_thread(service.broadcast_status, sessions=watcher, broadcast_id=broadcast_id)
                if status is not None and status.status == "done":
                    break
                await asyncio.sleep(1.0)
            wall = time.perf_counter() - start
            await runtime.stop()
            trips.close()
            watcher.kw["bind"].dispose()
        ok = [c for c in tg.calls_to("sendmessage")]
        throttled = len([c for c in tg.calls_to("sendmessage", ok=False) if (c.error or "").startswith("Too Many")])
    if scale is not None and purge:
        purge_history(services.sessions, scale)
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
        round_trips=trips.count / len(ok) if ok else float("nan"),
    )


def service_engine(url: str) -> Engine:
    """A separate engine for the benchmark's own reads."""
    from bot.storage.db import create_engine_for

    return create_engine_for(url)


def table(rows: list[Outcome]) -> str:
    """A plain-text table of the outcomes."""
    head = (
        f"{'run':<9} {'limit':<20} {'subscribers':>11} {'delivered':>9} {'dupes':>5} {'lost':>4} "
        f"{'429s':>5} {'wall s':>7} {'msgs/s':>7} {'trips/msg':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.name:<9} {r.limit:<20} {r.subscribers:>11} {r.delivered:>9} {r.duplicates:>5} {r.lost:>4} "
            f"{r.throttled:>5} {r.wall:>7.1f} {r.sustained:>7.1f} {r.round_trips:>9.2f}"
        )
    return "\n".join(lines)


def scale_table(rows: list[Scale]) -> str:
    """A plain-text table of the scale measurements."""
    head = (
        f"{'history rows':>12} {'seed s':>7} {'claims':>6} {'claim p50 ms':>12} {'claim p99 ms':>12} "
        f"{'progress ms':>11} {'purged':>9} {'purge s':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.history:>12} {r.seed_s:>7.1f} {r.claims:>6} {r.claim_p50_ms:>12.2f} {r.claim_p99_ms:>12.2f} "
            f"{r.progress_ms:>11.1f} {r.purged:>9} {r.purge_s:>8.1f}"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    """Run the limited and the ceiling benchmark and print the table."""
    rows: list[Outcome] = []
    scales: list[Scale] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.subscribers > 0:
            rows.append(
                await run_once(
                    "limited",
                    args.subscribers,
                    args.rate,
                    folder,
                    args.database_url,
                    history=args.history,
                    purge=args.purge,
                    scales=scales,
                )
            )
        if args.ceiling_subscribers > 0 and args.database_url is None:
            rows.append(await run_once("ceiling", args.ceiling_subscribers, None, folder, None))
    print("command: python -m benchmarks.bench_broadcast " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    print(table(rows))
    ok = True
    if scales:
        print()
        print(scale_table(scales))
        worst = max(s.claim_p99_ms for s in scales)
        verdict = "PASS" if worst <= 5.0 else "FAIL"
        ok = ok and verdict == "PASS"
        print(f"target: claim p99 ≤ 5 ms with {scales[0].history:,} historical rows → {verdict}")
    limited = next((r for r in rows if r.name == "limited"), None)
    if limited is not None:
        target = 0.9 * args.rate
        verdict = "PASS" if limited.sustained >= target and limited.duplicates == 0 and limited.lost == 0 else "FAIL"
        print(f"target: sustained ≥ {target:g} msgs/s (90 % of {args.rate:g}), 0 duplicates, 0 lost → {verdict}")
        trips = "PASS" if limited.round_trips <= 2.0 else "FAIL"
        print(f"target: ≤ 2 database round trips per delivered message ({limited.round_trips:.2f}) → {trips}")
        ok = ok and verdict == "PASS" and trips == "PASS"
    return 0 if ok else 1


def main() -> int:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--ceiling-subscribers", type=int, default=3_000)
    parser.add_argument("--database-url", default=None, help="an empty database to use instead of SQLite")
    parser.add_argument("--history", type=int, default=0, help="old delivery rows to seed before the limited run")
    parser.add_argument("--purge", action="store_true", help="time the retention purge of the seeded history")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
