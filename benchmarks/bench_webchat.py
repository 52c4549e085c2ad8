"""Web chat speed: replies per second and latency through the chat API with many visitors at once.

Run from the repository root: ``python -m benchmarks.bench_webchat [--visitors 50] [--questions 20]``.

The bot runs as in production (``python -m bot run`` with only ``WEBCHAT_ENABLED``, the repository's knowledge
base, SQLite in a temporary folder) in its own process; this process plays the visitors. Each visitor sends its
questions one after another, as a person would (the next only after the answer arrived); every ``POST`` returns
the visitor's new replies, so a request's time is the time to an answer on the screen. The questions are the
labelled benchmark questions. All visitors share one address, so the rate limits are turned off for the run
(``0``); each visitor stays under the handlers' 20-messages-a-minute flood limit.

Rows: one visitor alone; ``--visitors`` visitors at once; and the same number of visitors only fetching their
queue (``GET``, no search): the cost of the HTTP path alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.questions import load_questions
from bot.channels.webchat.api import API_PATH
from tests.fakes.telegram_api import free_port

ORIGIN = "https://phuong-mau.example.gov.vn"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One measured run."""

    name: str
    visitors: int
    latencies: list[float]
    errors: int
    wall: float

    def row(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
        rate = len(ms) / self.wall if self.wall else 0.0
        return (f"| {self.name} | {self.visitors} | {len(ms)} | {rate:.1f} | {q[49]:.1f} | {q[94]:.1f} | "
                f"{q[98]:.1f} | {self.errors} |")


def start_bot(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    """``python -m bot run`` with the web chat alone."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "",
        "ZALO_APP_ID": "",
        "WEBCHAT_ENABLED": "true",
        "WEBCHAT_ALLOWED_ORIGINS": ORIGIN,
        "WEBCHAT_VISITOR_MESSAGES_PER_MINUTE": "0",
        "WEBCHAT_IP_REQUESTS_PER_MINUTE": "0",
        "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}",
        "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp, env=env, stdin=subprocess.DEVNULL)


async def wait_ready(client: httpx.AsyncClient, base: str, bot: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if bot.poll() is not None:
            raise SystemExit(f"the bot exited with {bot.returncode}")
        try:
            if (await client.get(base + "/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the bot did not start")


async def visitor(client: httpx.AsyncClient, url: str, questions: list[str], fetch_only: bool,
                  latencies: list[float]) -> int:
    """One visitor asking ``questions`` in turn; returns how many requests failed."""
    visitor_id = secrets.token_hex(16)
    errors, last = 0, 0
    for text in questions:
        started = time.perf_counter()
        try:
            if fetch_only:
                response = await client.get(url, params={"visitor": visitor_id, "after": last})
            else:
                body = json.dumps({"visitor": visitor_id, "text": text, "after": last})
                response = await client.post(url, content=body)
            messages = response.json()["messages"] if response.status_code == 200 else None
            if messages is None or (not fetch_only and not messages):
                errors += 1
                continue
            if messages:
                last = messages[-1]["id"]
        except httpx.HTTPError:
            errors += 1
            continue
        latencies.append(time.perf_counter() - started)
    return errors


async def measure(base: str, name: str, visitors: int, questions: list[str], per_visitor: int,
                  fetch_only: bool = False) -> Run:
    limits = httpx.Limits(max_connections=visitors + 5, max_keepalive_connections=visitors + 5)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers={"Origin": ORIGIN}) as client:
        latencies: list[float] = []
        chunks = [
            [questions[(v * per_visitor + i) % len(questions)] for i in range(per_visitor)] for v in range(visitors)
        ]
        started = time.perf_counter()
        errors = await asyncio.gather(*(visitor(client, base + API_PATH, c, fetch_only, latencies) for c in chunks))
        return Run(name, visitors, latencies, sum(errors), time.perf_counter() - started)


async def main_async(visitors: int, per_visitor: int) -> None:
    questions = [q.text for q in load_questions()]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        bot = start_bot(tmp, port)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await wait_ready(client, base, bot)
            await measure(base, "warm-up", 5, questions, 4)
            runs = [
                await measure(base, "questions, one visitor", 1, questions[500:], per_visitor),
                await measure(base, f"questions, {visitors} visitors at once", visitors, questions, per_visitor),
                await measure(base, f"queue fetch only (GET), {visitors} visitors", visitors, questions, per_visitor,
                              fetch_only=True),
            ]
        finally:
            bot.terminate()
            bot.wait(20)
    print(f"Web chat API, bot in its own process (python -m bot run), {len(questions)} labelled questions; "
          f"machine load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)\n")
    print("| run | visitors | requests | replies/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(run.row())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="questions per visitor (≤ 20: the flood limit)")
    args = parser.parse_args()
    asyncio.run(main_async(args.visitors, args.questions))


if __name__ == "__main__":
    main()
