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
    keep_all = Settings(  # type: ignore[call-arg]
        question_log_retention_days=0, feedback_comment_retention_days=0, inactive_user_retention_days=0,
        _env_file=None,
    )  # fmt: skip
    assert retention.purge_expired(sessionmaker=sessions, settings=keep_all) == 0
    for purge in (retention.purge_old_question_logs, retention.erase_old_feedback_comments,
                  retention.purge_inactive_users):  # fmt: skip
        with pytest.raises(ValueError):
            purge(sessionmaker=sessions, older_than_days=0)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.question_log_retention_days, defaults.feedback_comment_retention_days,
            defaults.inactive_user_retention_days) == (180, 180, 365)  # fmt: skip
    # the 400-day-old question and the comment on its vote; the user wrote today and stays
    assert retention.purge_expired(sessionmaker=sessions, settings=defaults) == 2
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(QuestionLog)) == 1
        assert sorted(f.comment or "" for f in s.scalars(select(Feedback))) == ["", "không đúng"]
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_comments_after_a_thumbs_down_are_erased_and_the_votes_stay(sessions: sessionmaker[Session]) -> None:
    seed(sessions, NOW, [200, 181, 179, 3])
    assert retention.erase_old_feedback_comments(sessionmaker=sessions, older_than_days=180, now=NOW) == 2
    with sessions() as s:
        feedback = sorted(s.scalars(select(Feedback)), key=lambda f: f.created_at)
        assert [f.comment for f in feedback] == [None, None, "không đúng", "không đúng"]
        assert [f.helpful for f in feedback] == [False, True, False, True]  # every vote still counts
    assert retention.erase_old_feedback_comments(sessionmaker=sessions, older_than_days=180, now=NOW) == 0


def test_inactive_users_go_with_everything_linked_but_subscribers_stay(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for name, last_seen_days, subscribed in (("old", 400, False), ("reader", 400, True), ("recent", 30, False)):
            user = repo.touch_user(session=s, channel="test", external_id=name, display_name=f"Tên {name}",
                                   now=NOW - dt.timedelta(days=last_seen_days))  # fmt: skip
            user.subscribed = subscribed
            s.flush()
            log = repo.log_question(
                session=s, user=user, raw_text="số tôi 0912345678", normalized_text="", decision="decline",
                matched_id=None, confidence=0.1, latency_ms=1, now=NOW - dt.timedelta(days=last_seen_days),
            )  # fmt: skip
            vote = repo.record_feedback(session=s, user=user, helpful=False, question_log_id=log.id, now=NOW)
            assert vote is not None
    assert retention.purge_inactive_users(sessionmaker=sessions, older_than_days=365, now=NOW, batch_size=1) == 1
    with sessions() as s:
        assert sorted(s.scalars(select(User.external_id))) == ["reader", "recent"]
        kept = set(s.scalars(select(User.id)))
        assert set(s.scalars(select(QuestionLog.user_id))) == kept
        assert set(s.scalars(select(Feedback.user_id))) == kept
    assert retention.purge_inactive_users(sessionmaker=sessions, older_than_days=365, now=NOW) == 0


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
    assert "Đã xóa 1 câu hỏi đã ghi quá 30 ngày." in capsys.readouterr().out
    assert main(["db", "purge-logs"]) == 0  # QUESTION_LOG_RETENTION_DAYS=180: nothing that old is left
    assert "Đã xóa 0 câu hỏi đã ghi quá 180 ngày." in capsys.readouterr().out
