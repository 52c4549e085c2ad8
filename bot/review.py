"""The monthly reminder to staff: knowledge entries due for review (never dated, dated in the future, or checked
longer ago than ``KNOWLEDGE_REVIEW_DAYS`` or their own ``review:`` period).

The scheduler calls the module-level job :func:`monthly_review_reminder` (stable id :data:`JOB_ID`, picklable for
the persistent job store) after the composition root called :func:`set_reminder_target`; without the scheduler,
``python -m bot report review`` prints the same list.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import reports
from bot.kb.check import due_for_review
from bot.kb.models import KnowledgeBase

log = logging.getLogger(__name__)

JOB_ID = "knowledge-review-reminder"
REMINDER_LIMIT = 15  # entries listed in the chat message; the command line lists them all


@dataclass(frozen=True)
class ReminderTarget:
    """Where the job finds the live knowledge base and how it reaches staff."""

    knowledge: Callable[[], KnowledgeBase]
    notify_staff: Callable[[str], Awaitable[None]]
    review_days: int
    timezone: str


_target: ReminderTarget | None = None


def set_reminder_target(target: ReminderTarget | None) -> None:
    """Point the scheduled job at the running bot (None when this process stops leading)."""
    global _target
    _target = target


def reminder_text(kb: KnowledgeBase, *, today: dt.date, review_days: int) -> str | None:
    """The staff message listing entries due for review, or None when nothing is due."""
    due = due_for_review(kb, today=today, review_days=review_days)
    if not due:
        return None
    return "Nhắc rà soát kho tri thức hằng tháng\n\n" + reports.format_review(
        due, today=today, review_days=review_days, limit=REMINDER_LIMIT
    )


async def monthly_review_reminder() -> None:
    """Scheduled job: tell staff which entries are due for review (nothing is sent when none is due)."""
    target = _target
    if target is None:
        log.warning("review reminder fired without a target; skipped")
        return
    today = dt.datetime.now(ZoneInfo(target.timezone)).date()
    text = reminder_text(target.knowledge(), today=today, review_days=target.review_days)
    if text is not None:
        await target.notify_staff(text)
