"""``python -m bot broadcast …`` in-process: send (delivering through the fake Bot API), schedule, list, cancel."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.broadcast import service
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade
from tests.broadcast.conftest import add_subscribers
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram


def test_broadcast_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_telegram: FakeTelegram
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(write_knowledge(tmp_path / "kb")))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_telegram.base_url)
    monkeypatch.setenv("BROADCAST_POLL_INTERVAL", "0.05")
    upgrade(url)
    engine = create_engine_for(url)
    sessions = make_sessionmaker(engine)
    ids = add_subscribers(sessions, 8)

    assert main(["broadcast", "send", "--deliver", "Cúp", "điện", "sáng", "mai"]) == 0
    out = capsys.readouterr().out
    assert "broadcast #1 created" in out and "done" in out
    chats = Counter(int(c.params["chat_id"]) for c in fake_telegram.calls_to("sendmessage"))
    assert chats == Counter({i: 1 for i in ids})
    assert "Cúp điện sáng mai" in fake_telegram.visible_text(fake_telegram.calls_to("sendmessage")[0])

    assert main(["broadcast", "schedule", "Họp tổ", "--at", "2099-01-01 08:00"]) == 0
    assert main(["broadcast", "schedule", "Quá khứ", "--at", "2000-01-01 08:00"]) == 2
    capsys.readouterr()
    assert main(["broadcast", "list"]) == 0
    listed = capsys.readouterr().out
    assert "#2" in listed and "scheduled" in listed and "#1 " not in listed
    assert main(["broadcast", "cancel", "2"]) == 0
    assert main(["broadcast", "cancel", "2"]) == 1
    assert main(["broadcast", "status", "1"]) == 0
    assert "sent=8" in capsys.readouterr().out
    status = service.broadcast_status(sessions=sessions, broadcast_id=2)
    assert status is not None and status.status == "cancelled"
    engine.dispose()
