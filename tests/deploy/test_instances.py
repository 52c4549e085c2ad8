"""Several instances on one PostgreSQL: webhook traffic for one conversation may reach any of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from bot.channels.http import SECRET_HEADER
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import Feedback, QuestionLog
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, free_port

ROOT = Path(__file__).resolve().parents[2]


def _instance(tg: FakeTelegram, db_url: str, kb_dir: Path, port: int, cwd: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123:TEST",
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org",
        "DATABASE_URL": db_url,
        "KNOWLEDGE_DIR": str(kb_dir),
        "HTTP_PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_webhook_traffic_spread_over_two_instances(postgres_url: str, tmp_path: Path) -> None:
    kb_dir = write_knowledge(tmp_path / "kb")
    upgrade(postgres_url)
    ports = [free_port(), free_port()]
    with FakeTelegram() as tg:
        procs = [_instance(tg, postgres_url, kb_dir, port, tmp_path) for port in ports]
        try:
            tg.wait_for_sync(lambda: all(_healthy(p) for p in ports) or any(x.poll() is not None for x in procs), 60)
            assert all(x.poll() is None for x in procs)
            tg.wait_for_sync(lambda: len(tg.calls_to("setwebhook")) >= 2, 20)
            secret = str(tg.calls_to("setwebhook")[0].params["secret_token"])
            assert {str(c.params["secret_token"]) for c in tg.calls_to("setwebhook")} == {secret}  # same on both
            urls = [f"http://127.0.0.1:{p}/telegram/webhook" for p in ports]

            # the question reaches instance A ...
            question = tg.message_update(chat_id=7001, text="gia hạn bhyt hộ gia đình")
            assert httpx.post(urls[0], json=question, headers={SECRET_HEADER: secret}).status_code == 200
            tg.wait_for_sync(lambda: len(tg.sent(7001)) >= 1, 20)
            answer = tg.sent(7001)[0]
            up = next(b["callback_data"] for b in tg.buttons(answer) if str(b.get("callback_data", "")).endswith(":1"))
            # ... and the 👍 on that answer reaches instance B, which records it against A's question log
            press = tg.callback_update(chat_id=7001, data=up, message_id=answer.result["message_id"])
            assert httpx.post(urls[1], json=press, headers={SECRET_HEADER: secret}).status_code == 200
            tg.wait_for_sync(lambda: len(tg.sent(7001)) >= 2, 20)
            # another citizen's question is answered by instance B
            other = tg.message_update(chat_id=7002, text="tra cứu hạn thẻ bhyt")
            assert httpx.post(urls[1], json=other, headers={SECRET_HEADER: secret}).status_code == 200
            tg.wait_for_sync(lambda: len(tg.sent(7002)) >= 1, 20)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            codes = [proc.wait(20) for proc in procs]
    assert codes == [0, 0]
    engine = create_engine_for(postgres_url)
    with make_sessionmaker(engine)() as session:
        logs = session.scalars(select(QuestionLog).order_by(QuestionLog.id)).all()
        votes = session.scalars(select(Feedback)).all()
    engine.dispose()
    assert [log.raw_text for log in logs] == ["gia hạn bhyt hộ gia đình", "tra cứu hạn thẻ bhyt"]
    assert [(v.question_log_id, v.helpful) for v in votes] == [(logs[0].id, True)]
