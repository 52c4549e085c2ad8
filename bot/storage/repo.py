"""Keyword-only data functions on an open session; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import Feedback, QuestionLog, User, utcnow

MAX_DISPLAY_NAME = 200


def get_user(*, session: Session, channel: str, external_id: str) -> User | None:
    """The user with this channel id, or None."""
    return session.scalars(select(User).where(User.channel == channel, User.external_id == external_id)).one_or_none()


def touch_user(
    *,
    session: Session,
    channel: str,
    external_id: str,
    display_name: str | None = None,
    now: dt.datetime | None = None,
) -> User:
    """Create the user on first contact, otherwise refresh ``last_seen`` and the display name."""
    now = now or utcnow()
    name = display_name[:MAX_DISPLAY_NAME] if display_name else None
    user = get_user(session=session, channel=channel, external_id=external_id)
    if user is None:
        candidate = User(
            channel=channel,
            external_id=external_id,
            display_name=name,
            first_seen=now,
            last_seen=now,
            is_active=True,
            subscribed=False,
            topics="",
        )
        try:
            with session.begin_nested():
                session.add(candidate)
            return candidate
        except IntegrityError:  # another worker created the same user a moment ago
            user = get_user(session=session, channel=channel, external_id=external_id)
            if user is None:
                raise
    user.last_seen = now
    user.is_active = True
    if name:
        user.display_name = name
    return user


def log_question(
    *,
    session: Session,
    user: User | None = None,
    user_id: int | None = None,
    raw_text: str,
    normalized_text: str,
    decision: str,
    matched_id: str | None,
    confidence: float,
    latency_ms: int,
    now: dt.datetime | None = None,
) -> QuestionLog:
    """Record one free-text question and how it was decided (for ``user``, or the user row ``user_id``)."""
    owner = user.id if user is not None else user_id
    if owner is None:
        raise ValueError("log_question needs user or user_id")
    entry = QuestionLog(
        user_id=owner,
        raw_text=raw_text,
        normalized_text=normalized_text,
        decision=decision,
        matched_id=matched_id,
        confidence=float(confidence),
        latency_ms=int(latency_ms),
        created_at=now or utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def record_feedback(
    *,
    session: Session,
    user: User,
    helpful: bool,
    question_log_id: int | None = None,
    entry_id: str | None = None,
    now: dt.datetime | None = None,
) -> Feedback | None:
    """Record a vote; a vote on a question log replaces the user's earlier vote on it.

    Returns None when ``question_log_id`` does not name one of this user's own questions.
    """
    if question_log_id is not None:
        log = session.get(QuestionLog, question_log_id)
        if log is None or log.user_id != user.id:
            return None
        entry_id = entry_id or log.matched_id
        existing = session.scalars(
            select(Feedback).where(Feedback.user_id == user.id, Feedback.question_log_id == question_log_id)
        ).first()
        if existing is not None:
            existing.helpful = helpful
            existing.created_at = now or utcnow()
            session.flush()
            return existing
    feedback = Feedback(
        user_id=user.id,
        question_log_id=question_log_id,
        entry_id=entry_id,
        helpful=helpful,
        created_at=now or utcnow(),
    )
    session.add(feedback)
    session.flush()
    return feedback


def set_feedback_comment(*, session: Session, user: User, feedback_id: int, comment: str) -> bool:
    """Attach a comment to one of the user's own feedback rows; False if it is not theirs."""
    feedback = session.get(Feedback, feedback_id)
    if feedback is None or feedback.user_id != user.id:
        return False
    feedback.comment = comment
    return True


def set_subscribed(*, session: Session, user: User, subscribed: bool) -> bool:
    """Set the announcement subscription; returns the previous value."""
    previous = user.subscribed
    user.subscribed = subscribed
    return previous


def delete_user_data(*, session: Session, channel: str, external_id: str) -> bool:
    """Delete the user, their question logs and their feedback; False if nothing was stored.

    Tables added later reference ``users.id`` with ``ON DELETE CASCADE`` and go with the user row.
    """
    user = get_user(session=session, channel=channel, external_id=external_id)
    if user is None:
        return False
    session.execute(delete(Feedback).where(Feedback.user_id == user.id))
    session.execute(delete(QuestionLog).where(QuestionLog.user_id == user.id))
    session.delete(user)
    session.flush()
    return True


def unanswered_questions(
    *, session: Session, since: dt.datetime | None = None, limit: int = 100
) -> Sequence[QuestionLog]:
    """Declined questions, newest first, for staff to turn into new entries."""
    query = select(QuestionLog).where(QuestionLog.decision == "decline")
    if since is not None:
        query = query.where(QuestionLog.created_at >= since)
    return session.scalars(query.order_by(QuestionLog.created_at.desc()).limit(limit)).all()


def count_questions(*, session: Session, decision: str | None = None) -> int:
    """How many questions were logged, optionally only with one decision."""
    query = select(func.count()).select_from(QuestionLog)
    if decision is not None:
        query = query.where(QuestionLog.decision == decision)
    return int(session.scalar(query) or 0)
