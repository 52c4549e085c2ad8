"""Retention: old question logs go, feedback on them stays without the question, newer logs stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import retention
from bot.__main__ import main
from bot.settings import Settings
from bot.storage import migrate, repo
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.models import Feedback, QuestionLog, User, utcnow

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def seed(sessions: sessionmaker[Session], now: dt.datetime, ages_in_days: list[float]) -> list[int]:
    """One user asking a question at each age, each answer voted on (👎 with a comment); returns the log ids."""
    ids = []
    with sessions.begin() as s:
        user = repo.touch_user(session=s, channel="test", external_id="u", now=now)
        s.flush()
        for n, age in enumerate(ages_in_days):
            at = now - dt.timedelta(days=age)
            log = repo.log_question(
                session=s, user=user, raw_text=f"câu hỏi {n}", normalized_text=f"cau hoi {n}", decision="answer",
                matched_id="bhyt-gia-han", confidence=0.9, latency_ms=2, now=at,
            )  # fmt: skip
            vote = repo.record_feedback(session=s, user=user, helpful=n % 2 == 1, question_log_id=log.id, now=at)
            assert vote is not None
            repo.set_feedback_comment(session=s, user=user, feedback_id=vote.id, comment="không đúng")
            ids.append(log.id)
    return ids


def test_purge_deletes_only_old_logs_and_keeps_their_feedback(sessions: sessionmaker[Session]) -> None:
    old, borderline, recent = seed(sessions, NOW, [200, 180.5, 10])
    removed = retention.purge_old_question_logs(sessionmaker=sessions, older_than_days=180, now=NOW)
    assert removed == 2
    with sessions() as s:
        assert list(s.scalars(select(QuestionLog.id))) == [recent]
        feedback = list(s.scalars(select(Feedback)))
        assert len(feedback) == 3  # every vote survives …
        assert sorted((f.question_log_id or 0) for f in feedback) == [0, 0, recent]  # … the old ones detached
        assert all(f.entry_id == "bhyt-gia-han" for f in feedback)  # and still count for their entry
        assert s.scalar(select(func.count()).select_from(User)) == 1
    assert retention.purge_old_question_logs(sessionmaker=sessions, older_than_days=180, now=NOW) == 0
    with sessions() as s:
        assert s.get(QuestionLog, old) is None and s.get(QuestionLog, borderline) is None


def test_purge_works_in_batches(sessions: sessionmaker[Session]) -> None:
    seed(sessions, NOW, [40, 41, 42, 43, 44, 1])
    assert retention.purge_old_question_logs(sessionmaker=sessions, older_than_days=30, now=NOW, batch_size=2) == 5
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(QuestionLog)) == 1


def test_retention_setting_and_the_daily_job(sessions: sessionmaker[Session]) -> None:
    seed(sessions, utcnow(), [400, 100])
    keep_all = Settings(question_log_retention_days=0, _env_file=None)  # type: ignore[call-arg]
    assert retention.purge_expired(sessionmaker=sessions, settings=keep_all) == 0
    with pytest.raises(ValueError):
        retention.purge_old_question_logs(sessionmaker=sessions, older_than_days=0)
    assert Settings(_env_file=None).question_log_retention_days == 180  # type: ignore[call-arg]
    assert retention.purge_expired(sessionmaker=sessions, settings=Settings(_env_file=None)) == 1  # type: ignore[call-arg]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(QuestionLog)) == 1


async def test_daily_job_uses_the_registered_target(sessions: sessionmaker[Session]) -> None:
    seed(sessions, utcnow(), [3, 1])
    retention.set_purge_target(None)
    assert await retention.daily_purge() == 0
    retention.set_purge_target(sessions, Settings(question_log_retention_days=2, _env_file=None))  # type: ignore[call-arg]
    try:
        assert await retention.daily_purge() == 1
    finally:
        retention.set_purge_target(None)


def test_cli_purge_logs(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    migrate.upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    seed(make_sessionmaker(engine), utcnow(), [90, 20, 5])
    engine.dispose()
    assert main(["db", "purge-logs", "--days", "30"]) == 0
    assert "deleted 1 question logs older than 30 days" in capsys.readouterr().out
    assert main(["db", "purge-logs"]) == 0  # QUESTION_LOG_RETENTION_DAYS=180: nothing that old is left
    assert "deleted 0" in capsys.readouterr().out
