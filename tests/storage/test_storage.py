"""Storage on real SQLite and PostgreSQL: migrations, users, question logs, feedback and deletion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import migrate, repo
from bot.storage.conversations import ConversationRecords
from bot.storage.db import create_engine_for, normalize_url
from bot.storage.models import Base, Feedback, QuestionLog, User

TABLES = {"users", "question_logs", "feedback"}


def test_normalize_url_uses_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_sqlite_creates_folder_and_enables_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'bot.db'}"
    engine = create_engine_for(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
    assert (tmp_path / "data").is_dir()


def test_upgrade_from_empty_and_downgrade(db_url: str) -> None:
    migrate.upgrade(db_url)
    assert migrate.current_revision(db_url) == migrate.head_revision()
    engine = create_engine_for(db_url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        # The migrated schema matches the models exactly.
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    migrate.downgrade(db_url, "base")
    with engine.connect() as conn:
        assert not TABLES & set(inspect(conn).get_table_names())
    engine.dispose()
    assert migrate.current_revision(db_url) is None
    migrate.upgrade(db_url, "0001_initial")  # and up again, one revision
    assert migrate.current_revision(db_url) == "0001_initial"


def test_touch_user_creates_once_and_refreshes(sessions: sessionmaker[Session]) -> None:
    first = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    later = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with sessions.begin() as s:
        user = repo.touch_user(session=s, channel="telegram", external_id="42", display_name="Lan", now=first)
        s.flush()
        user_id = user.id
    with sessions.begin() as s:
        again = repo.touch_user(session=s, channel="telegram", external_id="42", display_name="Lan Anh", now=later)
        assert again.id == user_id
    with sessions() as s:
        stored = s.scalars(select(User)).one()
        assert stored.display_name == "Lan Anh"
        assert stored.first_seen == first
        assert stored.last_seen == later.astimezone(dt.UTC)
        assert stored.last_seen.tzinfo is not None
        assert stored.subscribed is False and stored.is_active is True and stored.topics == ""
        assert stored.topic_list == []


def test_same_external_id_on_two_channels_is_two_users(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        a = repo.touch_user(session=s, channel="telegram", external_id="7")
        b = repo.touch_user(session=s, channel="zalo", external_id="7")
        s.flush()
        assert a.id != b.id


def _user_with_history(s: Session, external_id: str) -> tuple[User, QuestionLog, Feedback]:
    user = repo.touch_user(session=s, channel="telegram", external_id=external_id)
    s.flush()
    log = repo.log_question(
        session=s,
        user=user,
        raw_text="Cài VNeID thế nào?",
        normalized_text="cai vneid the nao",
        decision="answer",
        matched_id="vneid-cai-dat",
        confidence=0.91,
        latency_ms=12,
    )
    fb = repo.record_feedback(session=s, user=user, helpful=False, question_log_id=log.id)
    assert fb is not None
    assert fb.entry_id == "vneid-cai-dat"
    return user, log, fb


def test_log_feedback_comment_and_vote_change(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        user, log, fb = _user_with_history(s, "1")
        assert repo.set_feedback_comment(session=s, user=user, feedback_id=fb.id, comment="Chưa rõ")
        changed = repo.record_feedback(session=s, user=user, helpful=True, question_log_id=log.id)
        assert changed is not None and changed.id == fb.id
    with sessions() as s:
        stored = s.scalars(select(Feedback)).one()
        assert stored.helpful is True and stored.comment == "Chưa rõ"
        logged = s.scalars(select(QuestionLog)).one()
        assert (logged.decision, logged.confidence, logged.latency_ms) == ("answer", 0.91, 12)
        assert logged.created_at.tzinfo is not None


def test_feedback_on_someone_elses_question_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _owner, log, _fb = _user_with_history(s, "owner")
        stranger = repo.touch_user(session=s, channel="telegram", external_id="stranger")
        s.flush()
        assert repo.record_feedback(session=s, user=stranger, helpful=True, question_log_id=log.id) is None
        assert repo.record_feedback(session=s, user=stranger, helpful=True, question_log_id=99999) is None
    with sessions() as s:
        assert len(s.scalars(select(Feedback)).all()) == 1


def test_delete_user_data_removes_only_that_user(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _user_with_history(s, "gone")
        _user_with_history(s, "stays")
    with sessions.begin() as s:
        assert repo.delete_user_data(session=s, channel="telegram", external_id="gone") is True
        assert repo.delete_user_data(session=s, channel="telegram", external_id="never") is False
    with sessions() as s:
        assert [u.external_id for u in s.scalars(select(User))] == ["stays"]
        assert len(s.scalars(select(QuestionLog)).all()) == 1
        assert len(s.scalars(select(Feedback)).all()) == 1


def test_database_cascade_deletes_logs_with_user(sessions: sessionmaker[Session]) -> None:
    """The foreign keys themselves cascade, so later tables can rely on deleting the user row."""
    with sessions.begin() as s:
        user, _log, _fb = _user_with_history(s, "x")
        user_id = user.id
    with sessions.begin() as s:
        s.execute(delete(User).where(User.id == user_id))
    with sessions() as s:
        assert s.scalars(select(QuestionLog)).all() == []
        assert s.scalars(select(Feedback)).all() == []


def test_unanswered_questions_and_counts(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        user = repo.touch_user(session=s, channel="test", external_id="u")
        s.flush()
        for i, decision in enumerate(["decline", "answer", "decline", "suggest"]):
            repo.log_question(
                session=s,
                user=user,
                raw_text=f"q{i}",
                normalized_text=f"q{i}",
                decision=decision,
                matched_id=None,
                confidence=0.1,
                latency_ms=1,
                now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
            )
    with sessions() as s:
        assert [q.raw_text for q in repo.unanswered_questions(session=s)] == ["q2", "q0"]
        assert repo.count_questions(session=s) == 4
        assert repo.count_questions(session=s, decision="decline") == 2


async def test_question_log_skips_the_user_upsert_while_recent_and_survives_a_foreign_delete(
    sessions: sessionmaker[Session],
) -> None:
    now = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    records = ConversationRecords(sessions, lambda: now)
    ask = {"channel": "telegram", "external_id": "77", "display_name": "Lan", "normalized_text": "q",
           "decision": "answer", "matched_id": "x", "confidence": 0.9, "latency_ms": 2}  # fmt: skip
    first = await records.log_question(raw_text="một", **ask)
    with sessions.begin() as s:  # another instance deletes the user behind this one's back
        s.execute(delete(User).where(User.external_id == "77"))
    second = await records.log_question(raw_text="hai", **ask)  # the cached id is gone: the row is made again
    with sessions() as s:
        logs = s.scalars(select(QuestionLog).order_by(QuestionLog.id)).all()
        users = s.scalars(select(User)).all()
    assert first and [log.raw_text for log in logs] == ["hai"] and logs[0].id == second  # "một" went with the user
    assert [(u.external_id, u.display_name) for u in users] == [("77", "Lan")] and logs[0].user_id == users[0].id
