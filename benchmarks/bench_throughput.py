"""Chat throughput of ``python -m bot run`` against a bare python-telegram-bot echo bot, measured fairly.

Run from the repository root: ``python -m benchmarks.bench_throughput [--messages 600] [--rounds 2]``.

Each bot runs as its own process (``python -m bot run`` with the shipped knowledge base on SQLite, and
``python -m benchmarks.echo_bot``) against the same fake Bot API server in this process. ``--messages``
labelled questions, one per chat (so interleaved across chats, below the per-person flood limit), are injected
at once; the clock runs from the first injection to the last reply the fake server receives. Rounds alternate
between the two bots. Target: the bot ≥ 0.8× the echo bot's replies per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.questions import load_questions
from tests.fakes.telegram_api import FakeTelegram, free_port

ROOT = Path(__file__).resolve().parents[1]


def run_round(command: list[str], questions: list[str], folder: Path, first_chat: int) -> float:
    """Replies per second of the bot started by ``command`` for ``questions``."""
    with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
        env.update({
            "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "LOG_LEVEL": "ERROR",
            "DATABASE_URL": f"sqlite:///{folder / f'bot-{first_chat}.db'}", "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
            "HTTP_PORT": str(free_port()),
        })  # fmt: skip
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not tg.calls_to("getupdates", ok=None):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{command} did not start")
                time.sleep(0.05)
            time.sleep(1.0)  # let start-up work settle
            chats = list(range(first_chat, first_chat + len(questions)))
            start = time.perf_counter()
            for chat, question in zip(chats, questions, strict=True):
                tg.inject_message(chat_id=chat, text=question)
            deadline = time.monotonic() + 300
            while len({int(c.params["chat_id"]) for c in tg.calls_to("sendmessage")}) < len(chats):
                if time.monotonic() > deadline:
                    raise RuntimeError("not every question was answered")
                time.sleep(0.02)
            last = max(c.at for c in tg.calls_to("sendmessage"))
            return len(chats) / (last - start)
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pool = [q.text for q in load_questions()]
    questions = (pool * (args.messages // len(pool) + 1))[: args.messages]
    bots = {
        "echo (bare PTB, own process)": [sys.executable, "-m", "benchmarks.echo_bot"],
        "python -m bot run": [sys.executable, "-m", "bot", "run"],
    }
    results: dict[str, list[float]] = {name: [] for name in bots}
    with tempfile.TemporaryDirectory() as tmp:
        chat = 100_000
        for _ in range(args.rounds):
            for name, command in bots.items():
                results[name].append(run_round(command, questions, Path(tmp), chat))
                chat += args.messages
    print(f"\nChat throughput, {args.messages} labelled questions interleaved over as many chats, "
          f"{args.rounds} rounds each\n")
    print("| bot | replies/s (median) | rounds |")
    print("|---|---:|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    echo, bot = (statistics.median(v) for v in results.values())
    print(f"\nratio: {bot / echo:.2f}× the echo bot (target ≥ 0.8×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
