"""A failing write path (SQLite's "database or disk is full"): answers still go out, /healthz says 503 with the
reason, staff are alerted once, and everything clears when writes work again."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from bot.app import services_health
from bot.channels.http import HttpServer, build_http_app, health_route
from bot.messages import IncomingMessage
from bot.services import Services
from handlers import texts
from handlers.routes import handle
from tests.fakes.telegram_api import free_port


def fill_the_disk(services: Services, full: bool) -> None:
    """Cap the database at its current size (SQLite's real SQLITE_FULL error), or lift the cap."""
    assert services.engine is not None
    engine = services.engine
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    limit = pages + 16 if full else 1_073_741_823  # a little room for the ballast table, then filled below

    def cap(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={limit}")  # type: ignore[attr-defined]

    event.listen(engine, "connect", cap)
    engine.dispose()  # every new connection gets the cap
    if full:  # use up the free room inside the capped file
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS ballast (b BLOB)")
            connection.commit()
            for size in (65536, 4096, 512, 64):
                try:
                    while True:
                        connection.exec_driver_sql(f"INSERT INTO ballast VALUES (zeroblob({size}))")
                        connection.commit()
                except OperationalError:
                    connection.rollback()


async def ask(services: Services, user: str, question: str) -> str:
    msg = IncomingMessage(channel="test", user_id=user, chat_id=user, text=question)
    replies = await handle(msg, services)
    return replies[0].text


async def test_answers_go_out_while_writes_fail_and_staff_hear_once(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    alerts: list[tuple[str, str]] = []

    async def alert(component: str, reason: str) -> None:
        alerts.append((component, reason))

    services.health.set_alert(alert)
    fill_the_disk(services, full=True)
    questions = ["cài app vneid thế nào", "quên mật khẩu vneid", "gia hạn bhyt hộ gia đình"]
    with caplog.at_level(logging.WARNING):
        for i in range(200):  # new users every time: the user row must be written too
            reply = await ask(services, f"user-{i}", questions[i % 3])
            assert reply != texts.ERROR
            assert any(word in reply for word in ("VNeID", "Quên mật khẩu", "bưu điện")), reply
    await asyncio.sleep(0.05)
    assert [component for component, _ in alerts] == ["storage"]
    assert "full" in alerts[0][1]
    with services.sessions() as session:  # the first questions filled what room was left, then writes failed
        assert session.execute(text("SELECT count(*) FROM question_logs")).scalar() < 200
    assert not [r for r in caplog.records if r.exc_info]  # one warning, no traceback per message

    port = free_port()
    server = HttpServer(build_http_app([health_route(services_health(services))]), host="127.0.0.1", port=port)
    await server.start()
    try:
        async with httpx.AsyncClient() as client:
            failing = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert failing.status_code == 503
            assert "full" in failing.json()["problems"]["storage"]
            fill_the_disk(services, full=False)
            await ask(services, "user-after", "cài app vneid thế nào")
            healthy = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert healthy.status_code == 200 and "problems" not in healthy.json()
    finally:
        await server.stop()
    with services.sessions() as session:
        last = session.execute(text("SELECT raw_text FROM question_logs ORDER BY id DESC LIMIT 1")).scalar()
        assert last == "cài app vneid thế nào"  # logged again once there was room
