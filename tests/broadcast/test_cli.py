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
    assert "Đã tạo thông báo #1." in out and "done" in out
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


def test_unknown_topic_or_area_is_refused_with_the_valid_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    kb = write_knowledge(tmp_path / "kb")
    (kb / "_announcements.yaml").write_text(
        "topics:\n  - id: chung\n    title: Thông báo chung\n  - id: lua-dao\n    title: Cảnh báo lừa đảo\n"
        "areas:\n  - id: to-1\n    title: Tổ dân phố 1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kb))
    upgrade(url)
    engine = create_engine_for(url)
    sessions = make_sessionmaker(engine)
    add_subscribers(sessions, 3)

    assert main(["broadcast", "send", "--no-wait", "--topic", "luadao", "Cảnh", "báo"]) == 2
    err = capsys.readouterr().err
    assert "luadao" in err and "lua-dao" in err and "chung" in err and "Cảnh báo lừa đảo" in err
    assert main(["broadcast", "schedule", "Họp", "--at", "2099-01-01 08:00", "--area", "to-9"]) == 2
    err = capsys.readouterr().err
    assert "to-9" in err and "to-1" in err and "Tổ dân phố 1" in err
    assert service.list_broadcasts(sessions=sessions, statuses=None, limit=10) == []  # nothing was created

    assert main(["broadcast", "send", "--no-wait", "--topic", "lua-dao", "--area", "to-1", "Cảnh", "báo"]) == 0
    assert "Đã tạo thông báo #1." in capsys.readouterr().out
    engine.dispose()


def test_text_that_is_not_utf8_is_stored_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(write_knowledge(tmp_path / "kb")))
    upgrade(url)
    engine = create_engine_for(url)
    # A byte that is not UTF-8 reaches a command as a lone surrogate, which no database can store.
    word = b"h\xff\x00p".decode("utf-8", "surrogateescape")
    assert main(["broadcast", "schedule", "Hop", word, "to", "--at", "2099-01-01 08:00"]) == 0
    status = service.broadcast_status(sessions=make_sessionmaker(engine), broadcast_id=1)
    assert status is not None and status.text == "Hop h\ufffdp to"
    engine.dispose()
