"""Data retention: logged questions are personal data and are kept only ``QUESTION_LOG_RETENTION_DAYS``.

Feedback rows survive the purge consistently: their ``question_log_id`` is set to NULL by the foreign key
(``ON DELETE SET NULL``) while ``entry_id`` and the vote stay, so per-entry 👍/👎 counts remain right and no
question text is left behind.

Run it once a day: the scheduler calls the module-level job :func:`daily_purge` (stable id :data:`JOB_ID`,
picklable for a persistent job store) after the composition root called :func:`set_purge_target`; without
the scheduler, a cron entry runs ``python -m bot db purge-logs``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.storage.models import QuestionLog, utcnow

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


def purge_expired(*, sessionmaker: sessionmaker[Session], settings: Settings, now: dt.datetime | None = None) -> int:
    """The daily job: purge by ``QUESTION_LOG_RETENTION_DAYS`` (0 or less keeps everything); logs the count."""
    days = settings.question_log_retention_days
    if days <= 0:
        return 0
    removed = purge_old_question_logs(sessionmaker=sessionmaker, older_than_days=days, now=now)
    if removed:
        log.info("retention: deleted %d question logs older than %d days", removed, days)
    return removed


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
