"""Token storage and refresh: ahead of expiry, after a rejection, refused (staff alerted), and two processes racing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.channels.zalo.api import ZaloApi, ZaloSender, ZaloTokenError
from bot.channels.zalo.models import ZaloToken
from bot.channels.zalo.tokens import TokenRefused, ZaloTokens
from bot.messages import Reply
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import utcnow
from tests.fakes.zalo_api import FakeZalo

ROOT = Path(__file__).resolve().parents[2]


def make_tokens(db_url: str, fake: FakeZalo, **kwargs: object) -> ZaloTokens:
    """A token manager on a migrated database, seeded with the fake's first tokens."""
    upgrade(db_url)
    sessions = make_sessionmaker(create_engine_for(db_url))
    tokens = ZaloTokens(sessions=sessions, app_id=fake.app_id, app_secret=fake.app_secret,
                        oauth_base_url=fake.base_url, **kwargs)  # type: ignore[arg-type]
    tokens.seed(fake.access_token, fake.refresh_token)
    return tokens


def set_expiry(tokens: ZaloTokens, when: dt.datetime) -> None:
    """Pretend the stored access token expires at ``when``."""
    with tokens.sessions.begin() as session:
        session.execute(update(ZaloToken).values(access_expires_at=when))


async def test_refresh_ahead_of_expiry_only_when_due(fake_zalo: FakeZalo, db_url: str) -> None:
    tokens = make_tokens(db_url, fake_zalo)
    set_expiry(tokens, utcnow() + dt.timedelta(hours=5))
    assert await tokens.ensure_fresh() is False
    assert fake_zalo.refreshes == []
    set_expiry(tokens, utcnow() + dt.timedelta(minutes=30))
    assert await tokens.ensure_fresh() is True
    assert [c.error for c in fake_zalo.refreshes] == [0]
    call = fake_zalo.refreshes[0]
    assert (call.refresh_token, call.app_id, call.secret_key, call.grant_type) == (
        "refresh-0", fake_zalo.app_id, fake_zalo.app_secret, "refresh_token")
    stored = tokens.load()
    assert stored.access_token == fake_zalo.access_token and stored.refresh_token == fake_zalo.refresh_token
    assert await tokens.access_token() == fake_zalo.access_token
    # A restart with the same settings keeps the newer stored tokens; new settings replace them.
    tokens.seed("access-0", "refresh-0")
    assert tokens.load().refresh_token == fake_zalo.refresh_token
    tokens.seed("access-new", "refresh-new")
    assert tokens.load().access_token == "access-new"


async def test_refused_refresh_alerts_staff_once(fake_zalo: FakeZalo, sqlite_url: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    alerts: list[TokenRefused] = []

    async def alert(err: TokenRefused) -> None:
        alerts.append(err)

    tokens = make_tokens(sqlite_url, fake_zalo, on_refused=alert)
    fake_zalo.refuse_refresh_code = -14020
    fake_zalo.expire_access_token()
    api = ZaloApi(base_url=fake_zalo.base_url, tokens=tokens)
    sender = ZaloSender(api)
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(2):
                with pytest.raises(ZaloTokenError) as raised:
                    await sender.send("u1", [Reply(text="Xin chào")])
                assert raised.value.code == -14020
    finally:
        await api.aclose()
    assert [a.code for a in alerts] == [-14020]
    assert len(fake_zalo.refreshes) == 1  # the dead refresh token is not offered again
    assert any("refused to refresh" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert fake_zalo.delivered() == []


RACER = textwrap.dedent(
    """
    import json, sys, time
    from bot.channels.zalo.tokens import ZaloTokens
    from bot.storage.db import create_engine_for, make_sessionmaker

    db_url, base, app_id, secret, mode, start = sys.argv[1:7]
    tokens = ZaloTokens(sessions=make_sessionmaker(create_engine_for(db_url)), app_id=app_id, app_secret=secret,
                        oauth_base_url=base)
    tokens.load()  # connect before the start line
    time.sleep(max(0.0, float(start) - time.time()))
    result = tokens.refresh_sync(stale="access-0" if mode == "stale" else None)
    print(json.dumps({"access": result.access_token, "calls": tokens.refresh_calls}))
    """
)


@pytest.mark.parametrize("mode", ["stale", "ahead"])
def test_two_processes_racing_refresh_once(fake_zalo: FakeZalo, db_url: str, mode: str) -> None:
    fake_zalo.refresh_delay = 0.4  # both processes are inside the refresh at the same time
    tokens = make_tokens(db_url, fake_zalo)
    set_expiry(tokens, utcnow() + dt.timedelta(minutes=5))  # due for a refresh ahead of expiry
    start = time.time() + 2.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [db_url, fake_zalo.base_url, fake_zalo.app_id, fake_zalo.app_secret, mode, str(start)]
    procs = [
        subprocess.Popen([sys.executable, "-c", RACER, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len(fake_zalo.refreshes) == 1 and fake_zalo.refreshes[0].error == 0
    assert sorted(r["calls"] for r in results) == [0, 1]
    assert {r["access"] for r in results} == {fake_zalo.access_token}
    assert tokens.load().refresh_token == fake_zalo.refresh_token


async def test_concurrent_rejections_in_one_process_refresh_once(fake_zalo: FakeZalo, sqlite_url: str) -> None:
    tokens = make_tokens(sqlite_url, fake_zalo)
    fake_zalo.expire_access_token()
    api = ZaloApi(base_url=fake_zalo.base_url, tokens=tokens)
    try:
        sent = await asyncio.gather(*(ZaloSender(api).send(f"u{i}", [Reply(text="Chào")]) for i in range(5)))
    finally:
        await api.aclose()
    assert all(len(s) == 1 for s in sent)
    assert len(fake_zalo.refreshes) == 1
    assert len(fake_zalo.delivered()) == 5


async def test_refused_refresh_is_sent_to_the_telegram_admins(fake_zalo: FakeZalo, tmp_path: Path) -> None:
    from telegram import Bot

    from bot.app import routing, staff_alerter
    from bot.channel import ChannelHost
    from bot.channels.telegram import TelegramSender
    from bot.channels.zalo.channel import ZaloChannel
    from bot.gateway import OutboundGateway
    from bot.services import build_services
    from handlers import texts
    from tests.conftest import write_knowledge
    from tests.fakes.telegram_api import FakeTelegram
    from tests.zalo.conftest import zalo_settings

    settings = zalo_settings(fake_zalo, tmp_path, knowledge_dir=write_knowledge(tmp_path / "kb2"),
                             admin_telegram_ids=frozenset({11, 22}))
    services = build_services(settings)
    with FakeTelegram() as tg:
        bot = Bot(tg.token, base_url=tg.base_url)
        async with bot:
            alert = staff_alerter(settings, services, {"telegram": OutboundGateway(TelegramSender(bot))})
            channel = ZaloChannel(settings, ChannelHost(services, routing(services), alert))
            await channel.start()
            fake_zalo.refuse_refresh_code = -14020
            fake_zalo.expire_access_token()
            try:
                assert await channel.deliver("u1", [Reply(text="Xin chào")]) == []
                await tg.wait_for_sent(1, 11)
                await tg.wait_for_sent(1, 22)
            finally:
                await channel.stop()
                services.close()
        expected = texts.ZALO_REFRESH_REFUSED.format(code=-14020, reason="x").split("(")[0]
        assert all(expected in str(tg.sent(chat)[0].params["text"]) for chat in (11, 22))
