"""Disk full under SQLite: the question log cannot be written, the citizen still gets the answer, the failure is
logged once per period (no traceback per message) and the write path reports it for the health check."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.messages import IncomingMessage
from bot.services import Services
from bot.storage.conversations import WritePath
from bot.storage.models import QuestionLog
from handlers import texts
from handlers.routes import handle

QUESTION = "quên mật khẩu vneid"


def _limit_pages(services: Services, pages: int | None) -> None:
    """Cap the SQLite file at ``pages`` pages (None: lift the cap) on every connection, as a full disk would."""
    engine = services.engine
    assert engine is not None
    engine.dispose()

    def on_connect(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={pages or 1073741823}")
        cursor.close()

    event.listen(engine, "connect", on_connect)


def _page_count(services: Services) -> int:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())


def _count_logs(services: Services) -> int:
    with services.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(QuestionLog)) or 0)


async def test_a_full_disk_does_not_stop_the_answers(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    await handle(IncomingMessage(channel="test", user_id="warm", chat_id="warm", text=QUESTION), services)
    _limit_pages(services, _page_count(services))
    tries, refused = 200, 0
    with caplog.at_level(logging.WARNING):
        for n in range(tries):
            user = f"u{n}"  # one message each: the flood limit stays out of the way
            msg = IncomingMessage(channel="test", user_id=user, chat_id=user, text=f"{QUESTION} {n}")
            [reply] = await handle(msg, services)
            assert reply.text != texts.ERROR and "Quên mật khẩu" in reply.text, n
            refused = services.records.write_path.status().failures
    assert refused > 0, "the cap never filled the file: the test proves nothing"
    status = services.records.write_path.status()
    assert not status.ok and status.reason is not None and "OperationalError" in status.reason
    assert "database or disk is full" in caplog.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and all(r.exc_info is None for r in caplog.records)  # one line, no traceback
    assert QUESTION not in caplog.text  # what citizens type stays out of the logs
    stored = _count_logs(services)

    _limit_pages(services, None)  # space again
    [reply] = await handle(IncomingMessage(channel="test", user_id="z", chat_id="z", text=QUESTION), services)
    assert services.records.write_path.status().ok and _count_logs(services) == stored + 1
    assert "work again" in caplog.text


def test_failures_are_reported_once_per_period() -> None:
    clock = [0.0]
    path = WritePath(report_every=60, monotonic=lambda: clock[0])
    logger = logging.getLogger("bot.storage.conversations")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        for second in range(0, 150):
            clock[0] = float(second)
            path.failed("logging a question", OSError("disk full"))
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage().split("(")[1].split(" ")[0] for r in records] == ["1", "60", "60"]
    assert path.status().failures == 150 and not path.status().ok
