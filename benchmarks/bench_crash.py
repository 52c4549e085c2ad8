"""A crash with answers in flight: ``python -m bot run`` is killed with SIGKILL, restarted, and must answer all.

Run from the repository root: ``python -m benchmarks.bench_crash [--in-flight 40]``.

For each channel the bot runs as its own process against the fake API (Telegram: long polling; Zalo: signed
webhook events). While every send fails (HTTP 500, so the replies are retrying and none has gone out),
``--in-flight`` people ask a question each; once the bot has recorded them all it is killed with SIGKILL. The
fake API is healed, the bot restarted (``INBOUND_LEASE_SECONDS=2``), and we count who gets an answer.
Target: every one of them.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.fakes.telegram_api import FakeTelegram, free_port
from tests.fakes.zalo_api import FakeZalo, sign_event, text_event

ROOT = Path(__file__).resolve().parents[1]
OA_SECRET = "bench-oa-secret"
QUESTION = "Làm sao cài đặt ứng dụng VNeID?"


def recorded(url: str, channel: str) -> int:
    """How many inbound updates of ``channel`` the bot has recorded."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM inbound_updates WHERE channel = :c"),
                                    {"c": channel}).scalar_one())
    except Exception:
        return 0
    finally:
        engine.dispose()


def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(predicate: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def base_env(folder: Path, channel: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{folder / f'{channel}.db'}", "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
        "HTTP_PORT": str(free_port()), "INBOUND_LEASE_SECONDS": "2", "LOG_LEVEL": "WARNING",
    })  # fmt: skip
    return env


def telegram(n: int, folder: Path) -> tuple[int, int, int]:
    """(asked, answered after the restart, extra answers) on Telegram."""
    env = base_env(folder, "telegram")
    with FakeTelegram() as tg:
        env.update({"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url})
        bot = start(env)
        try:
            assert wait(lambda: tg.calls_to("getupdates", ok=None), 60), "the bot did not start"
            tg.faults.mix = {"500": 1.0}
            chats = list(range(9000, 9000 + n))
            for chat in chats:
                tg.inject_message(chat_id=chat, text=QUESTION)
            assert wait(lambda: recorded(env["DATABASE_URL"], "telegram") >= n, 60), "updates not recorded"
            time.sleep(1.0)
            bot.send_signal(signal.SIGKILL)
            bot.wait(10)
            assert not any(tg.sent(c) for c in chats), "a reply went out before the crash"
            tg.faults.mix = {}
            bot = start(env)
            wait(lambda: all(tg.sent(c) for c in chats), 120)
            time.sleep(2.0)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(20)
        counts = [len(tg.sent(c)) for c in chats if tg.sent(c)]
    return n, len(counts), extra_messages(counts)


def zalo(n: int, folder: Path) -> tuple[int, int, int]:
    """(asked, answered after the restart, extra answers) on Zalo."""
    env = base_env(folder, "zalo")
    with FakeZalo() as fake:
        env.update({
            "ZALO_APP_ID": fake.app_id, "ZALO_APP_SECRET": fake.app_secret, "ZALO_OA_SECRET_KEY": OA_SECRET,
            "ZALO_OA_ACCESS_TOKEN": fake.access_token, "ZALO_OA_REFRESH_TOKEN": fake.refresh_token,
            "ZALO_API_BASE_URL": fake.base_url, "ZALO_OAUTH_BASE_URL": fake.base_url,
        })  # fmt: skip
        url = f"http://127.0.0.1:{env['HTTP_PORT']}"
        bot = start(env)
        users = [f"z{i:04d}" for i in range(n)]
        try:
            with httpx.Client(timeout=10) as client:

                def healthy() -> bool:
                    try:
                        return client.get(url + "/healthz").status_code == 200
                    except httpx.HTTPError:
                        return False

                assert wait(healthy, 60), "the bot did not start"
                fake.faults.mix = {"500": 1.0}
                for i, user in enumerate(users):
                    event = text_event(fake.app_id, user, QUESTION, f"crash-{i}")
                    signed = sign_event(event, app_id=fake.app_id, secret=OA_SECRET)
                    assert client.post(url + "/zalo/webhook", content=signed.body,
                                       headers=signed.headers).status_code == 200
            time.sleep(1.0)
            bot.send_signal(signal.SIGKILL)
            bot.wait(10)
            assert not any(fake.sent_to(u) for u in users), "a reply went out before the crash"
            fake.faults.mix = {}
            bot = start(env)
            wait(lambda: all(fake.sent_to(u) for u in users), 120)
            time.sleep(2.0)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(20)
        counts = [len(fake.sent_to(u)) for u in users if fake.sent_to(u)]
    return n, len(counts), extra_messages(counts)


def extra_messages(counts: list[int]) -> int:
    """Messages beyond the usual number per answer (an answer may take several messages)."""
    if not counts:
        return 0
    usual = statistics.mode(counts)
    return sum(max(0, c - usual) for c in counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-flight", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("Telegram (long polling)", *telegram(args.in_flight, Path(tmp))),
                ("Zalo (webhook)", *zalo(args.in_flight, Path(tmp)))]
    print("\nSIGKILL with replies in flight, then restart\n")
    print("| channel | in flight at the kill | answered after the restart | extra messages |")
    print("|---|---:|---:|---:|")
    for name, asked, answered, extra in rows:
        print(f"| {name} | {asked} | {answered} | {extra} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
