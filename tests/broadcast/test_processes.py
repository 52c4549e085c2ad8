"""Real ``python -m bot run`` processes against the fake Bot API: SIGKILL mid-broadcast, two senders on PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.broadcast import service
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade
from tests.broadcast.conftest import add_subscribers
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, RateLimit, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123:TEST"


def spawn(
    tg: FakeTelegram, db_url: str, kb_dir: Path, cwd: Path, log: Path | None = None, **extra: str
) -> subprocess.Popen[str]:
    """Start ``python -m bot run`` against the fake server (its log goes to ``log`` when given)."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "DATABASE_URL": db_url,
        "KNOWLEDGE_DIR": str(kb_dir),
        "HTTP_PORT": str(free_port()),
        "PYTHONPATH": str(ROOT),
        "BROADCAST_POLL_INTERVAL": "0.1",
        "LOG_LEVEL": "INFO",
        **extra,
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
        stderr=log.open("w") if log is not None else subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM and return the process's log."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or ""


def notices_by_chat(tg: FakeTelegram) -> Counter[int]:
    """How many notices (messages carrying the unsubscribe button) each chat received."""
    return Counter(
        int(c.params["chat_id"])
        for c in tg.calls_to("sendmessage")
        if any(b.get("callback_data") == "unsub" for b in tg.buttons(c))
    )


def wait(predicate: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_sigkill_mid_broadcast_then_restart_finishes_without_loss(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    kb_dir = write_knowledge(tmp_path / "kb")
    upgrade(db_url)
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    ids = add_subscribers(sessions, 50)
    with FakeTelegram(rate_limit=RateLimit(global_per_second=30, per_chat_per_second=1)) as tg:
        extra = {"BROADCAST_RATE_PER_SECOND": "20"}
        first = spawn(tg, db_url, kb_dir, tmp_path, **extra)
        try:
            wait(lambda: bool(tg.calls_to("getupdates", ok=None)) or first.poll() is not None, 30, "the bot to poll")
            assert first.poll() is None, stop(first)[-2000:]
            bid = service.create_broadcast(sessions=sessions, text="Thông báo quan trọng")
            assert bid is not None
            wait(lambda: sum(notices_by_chat(tg).values()) >= 15, 20, "some deliveries")
            first.kill()  # SIGKILL: no cleanup at all
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
            first.communicate()
        before = sum(notices_by_chat(tg).values())
        assert 15 <= before < 50, before
        second = spawn(tg, db_url, kb_dir, tmp_path, **extra)
        try:
            wait(
                lambda: (
                    (s := service.broadcast_status(sessions=sessions, broadcast_id=bid)) is not None
                    and s.status == "done"
                ),
                40,
                "the broadcast to finish after the restart",
            )
        finally:
            log = stop(second)
    received = notices_by_chat(tg)
    assert set(received) == set(ids), "every subscriber got the notice"
    duplicates = [chat for chat, n in received.items() if n > 1]
    assert len(duplicates) <= 1 and all(received[c] == 2 for c in duplicates), (received, log[-2000:])
    status = service.broadcast_status(sessions=sessions, broadcast_id=bid)
    assert status is not None and status.sent == 50
    engine.dispose()


def test_two_sender_processes_share_one_broadcast_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    kb_dir = write_knowledge(tmp_path / "kb")
    upgrade(postgres_url)
    engine = create_engine_for(postgres_url)
    sessions = make_sessionmaker(engine)
    ids = add_subscribers(sessions, 200)
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    leader_line = "this process now runs the scheduler"

    def leaders() -> list[int]:
        return [log.read_text(encoding="utf-8").count(leader_line) for log in logs]

    with FakeTelegram() as tg:
        extra = {"BROADCAST_RATE_PER_SECOND": "40", "BROADCAST_BATCH_SIZE": "5"}
        procs = [spawn(tg, postgres_url, kb_dir, tmp_path, log, **extra) for log in logs]
        try:
            wait(lambda: len(tg.calls_to("getupdates", ok=None)) >= 2, 30, "both bots to poll")
            assert all(p.poll() is None for p in procs)
            bid = service.create_broadcast(sessions=sessions, text="Cả hai tiến trình cùng gửi")
            assert bid is not None
            wait(
                lambda: (
                    (s := service.broadcast_status(sessions=sessions, broadcast_id=bid)) is not None
                    and s.status == "done"
                ),
                40,
                "the broadcast to finish",
            )
            wait(lambda: sum(leaders()) >= 1, 10, "a leader")
            assert sorted(leaders()) == [0, 1], "exactly one process runs the scheduler"
            leader = leaders().index(1)
            procs[leader].kill()  # the leader dies: its connection closes, the lock frees, the other takes over
            procs[leader].wait(10)
            wait(lambda: leaders()[1 - leader] == 1, 15, "the other process to take over the scheduler")
        finally:
            for proc in procs:
                stop(proc)
    received = notices_by_chat(tg)
    assert set(received) == set(ids) and set(received.values()) == {1}, "all got it, nobody twice"
    survivor = logs[1 - leader].read_text(encoding="utf-8")
    per_process = [int(n) for n in re.findall(r"stopped after sending (\d+) messages", survivor)]
    assert per_process and 0 < per_process[0] < 200, "the survivor sent part of the broadcast, not all of it"
    engine.dispose()
