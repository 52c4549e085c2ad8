"""Data retention: every table that holds personal data has a period, each a setting (0 keeps the data).

- Logged questions: ``QUESTION_LOG_RETENTION_DAYS`` (180). Feedback rows survive that purge consistently: their
  ``question_log_id`` is set to NULL by the foreign key (``ON DELETE SET NULL``) while ``entry_id`` and the vote
  stay, so per-entry 👍/👎 counts remain right and no question text is left behind.
- Comments written after a 👎 (free text, often with a phone number): erased after
  ``FEEDBACK_COMMENT_RETENTION_DAYS`` (180); the vote stays.
- User rows (channel id, display name): deleted with everything linked to them when the citizen has not written
  for ``INACTIVE_USER_RETENTION_DAYS`` (365) and subscribes to no announcements (a subscriber who only reads is
  still served; /huydangky or /xoadulieu end that).

Delivery rows (who received which notice, by chat id) of broadcasts that ended more than
``DELIVERY_RETENTION_DAYS`` ago are purged by the same job; the broadcast row keeps its text and total, and
expired conversation flows (abandoned drafts and confirms) go too. Staff questions once answered and citizens'
reports once closed are deleted after ``QUESTION_LOG_RETENTION_DAYS`` as well.

Run it once a day: the scheduler calls the module-level job :func:`daily_purge` (stable id :data:`JOB_ID`,
picklable for a persistent job store) after the composition root called :func:`set_purge_target`; without
the scheduler, a cron entry runs ``python -m bot db purge-logs``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.storage.models import Feedback, QuestionLog, User, utcnow

log = logging.getLogger(__name__)

JOB_ID = "retention-question-logs"
BATCH_SIZE = 5000  # rows per transaction, so a first purge of a big table holds no long lock


def purge_old_question_logs(
    *,
    sessionmaker: sessionmaker[Session],
    older_than_days: int,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Delete question logs created more than ``older_than_days`` days ago; returns how many went."""
    if older_than_days <= 0:
        raise ValueError("older_than_days must be positive")
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    total = 0
    while True:
        with sessionmaker.begin() as session:
            ids = select(QuestionLog.id).where(QuestionLog.created_at < cutoff).limit(batch_size)
            # A subquery with LIMIT inside IN (...) is refused by some databases; select the ids first.
            batch = list(session.scalars(ids))
            if not batch:
                break
            session.execute(
                delete(QuestionLog).where(QuestionLog.id.in_(batch)).execution_options(synchronize_session=False)
            )
        total += len(batch)
        if len(batch) < batch_size:
            break
    return total


def purge_old_deliveries(
    *,
    sessionmaker: sessionmaker[Session],
    older_than_days: int,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Delete the delivery rows of broadcasts finished more than ``older_than_days`` days ago, and expired
    conversation flows; returns how many delivery rows went. Open deliveries are never touched."""
    from bot.broadcast.models import CANCELLED, DONE, MISSED, OPEN_DELIVERY, Broadcast, Delivery
    from bot.storage.flows import purge_expired_flows

    if older_than_days <= 0:
        raise ValueError("older_than_days must be positive")
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=older_than_days)
    ended = select(Broadcast.id).where(
        Broadcast.status.in_((DONE, CANCELLED, MISSED)),
        func.coalesce(Broadcast.finished_at, Broadcast.created_at) < cutoff,
    )
    total = 0
    while True:
        with sessionmaker.begin() as session:
            batch = list(
                session.scalars(
                    select(Delivery.id)
                    .where(Delivery.broadcast_id.in_(ended), Delivery.status.not_in(OPEN_DELIVERY))
                    .limit(batch_size)
                )
            )
            if batch:
                session.execute(
                    delete(Delivery).where(Delivery.id.in_(batch)).execution_options(synchronize_session=False)
                )
        total += len(batch)
        if len(batch) < batch_size:
            break
    purge_expired_flows(sessions=sessionmaker, now=now)
    return total


def erase_old_feedback_comments(
    *, sessionmaker: sessionmaker[Session], older_than_days: int, now: dt.datetime | None = None
) -> int:
    """Erase the text of feedback comments older than ``older_than_days`` days (the votes stay); returns how many."""
    if older_than_days <= 0:
        raise ValueError("older_than_days must be positive")
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    with sessionmaker.begin() as session:
        result = session.execute(
            update(Feedback)
            .where(Feedback.comment.is_not(None), Feedback.created_at < cutoff)
            .values(comment=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def purge_inactive_users(
    *,
    sessionmaker: sessionmaker[Session],
    older_than_days: int,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Delete users silent for more than ``older_than_days`` days who subscribe to nothing, with their questions,
    feedback and (by ``ON DELETE CASCADE``) everything else linked to them; returns how many users went."""
    if older_than_days <= 0:
        raise ValueError("older_than_days must be positive")
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    total = 0
    while True:
        with sessionmaker.begin() as session:
            ids = select(User.id).where(User.last_seen < cutoff, User.subscribed.is_(False)).limit(batch_size)
            batch = list(session.scalars(ids))
            if not batch:
                break
            for table, column in ((Feedback, Feedback.user_id), (QuestionLog, QuestionLog.user_id)):
                session.execute(delete(table).where(column.in_(batch)).execution_options(synchronize_session=False))
            session.execute(delete(User).where(User.id.in_(batch)).execution_options(synchronize_session=False))
        total += len(batch)
        if len(batch) < batch_size:
            break
    return total


def purge_expired(*, sessionmaker: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None) -> int:
    """The daily job: every retention period in turn (0 or less keeps that data); logs the counts, returns the
    number of rows deleted or erased."""
    total = 0
    steps = (
        (settings.question_log_retention_days, purge_old_question_logs, "deleted %d question logs older than %d days"),
        (settings.feedback_comment_retention_days, erase_old_feedback_comments,
         "erased %d feedback comments older than %d days"),
        (settings.inactive_user_retention_days, purge_inactive_users,
         "deleted %d users inactive for more than %d days"),
        (settings.delivery_retention_days, purge_old_deliveries,
         "deleted %d delivery rows of notices that ended over %d days ago"),
        (settings.question_log_retention_days, purge_handled_handoffs,
         "deleted %d answered staff questions and closed reports older than %d days"),
    )  # fmt: skip
    for days, purge, message in steps:
        if days <= 0:
            continue
        removed = purge(sessionmaker=sessionmaker, older_than_days=days, now=now)
        if removed:
            log.info("retention: " + message, removed, days)
        total += removed
    return total


def purge_handled_handoffs(
    *, sessionmaker: sessionmaker[Session], older_than_days: int, now: dt.datetime | None = None
) -> int:
    """Delete staff questions answered, and citizens' reports closed, more than ``older_than_days`` days ago."""
    from bot.handoff.store import purge_handled

    if older_than_days <= 0:
        raise ValueError("older_than_days must be positive")
    return purge_handled(sessions=sessionmaker, before=(now or utcnow()) - dt.timedelta(days=older_than_days))


_target: tuple[sessionmaker[Session], Settings] | None = None


def set_purge_target(sessions: sessionmaker[Session] | None, settings: Settings | None = None) -> None:
    """Tell :func:`daily_purge` which database and settings to use (None to forget them)."""
    global _target
    _target = None if sessions is None or settings is None else (sessions, settings)


async def daily_purge() -> int:
    """The scheduler's daily job: :func:`purge_expired` off the event loop; 0 when no target is set."""
    if _target is None:
        log.warning("retention job ran before set_purge_target; nothing purged")
        return 0
    sessions, settings = _target
    return await asyncio.to_thread(purge_expired, sessionmaker=sessions, settings=settings)
