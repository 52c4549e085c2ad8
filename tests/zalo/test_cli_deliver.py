"""``python -m bot broadcast send --deliver`` ends when Zalo has subscribers: gateways come from the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.__main__ import main
from bot.broadcast import service
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import User, utcnow
from tests.broadcast.conftest import add_subscribers
from tests.conftest import write_knowledge
from tests.fakes.zalo_api import FakeZalo
from tests.zalo.conftest import OA_SECRET


def test_deliver_reaches_zalo_subscribers_and_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_zalo: FakeZalo
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATABASE_URL": url, "KNOWLEDGE_DIR": str(write_knowledge(tmp_path / "kb")),
        "ZALO_APP_ID": fake_zalo.app_id, "ZALO_APP_SECRET": fake_zalo.app_secret, "ZALO_OA_SECRET_KEY": OA_SECRET,
        "ZALO_OA_ACCESS_TOKEN": fake_zalo.access_token, "ZALO_OA_REFRESH_TOKEN": fake_zalo.refresh_token,
        "ZALO_API_BASE_URL": fake_zalo.base_url, "ZALO_OAUTH_BASE_URL": fake_zalo.base_url,
        "BROADCAST_POLL_INTERVAL": "0.05",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    upgrade(url)
    sessions = make_sessionmaker(create_engine_for(url))
    ids = add_subscribers(sessions, 5, channel="zalo")
    with sessions.begin() as session:  # one user wrote three days ago: outside Zalo's free window
        session.execute(update(User).where(User.external_id == str(ids[0]))
                        .values(last_seen=utcnow() - dt.timedelta(days=3)))

    assert main(["broadcast", "send", "--deliver", "Cúp", "điện", "sáng", "mai"]) == 0
    assert "done" in capsys.readouterr().out
    assert sorted(c.user_id for c in fake_zalo.delivered()) == sorted(str(i) for i in ids[1:])
    status = service.broadcast_status(sessions=sessions, broadcast_id=1)
    assert status is not None and (status.sent, status.skipped) == (4, 1)
