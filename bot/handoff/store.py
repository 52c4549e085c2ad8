"""Data functions for hand-offs and reports: create, claim (first one wins), answer, close, list, export, purge.

Every change that two staff members may race for is one conditional ``UPDATE`` (``… WHERE claimed_by IS NULL``),
so exactly one wins on SQLite and PostgreSQL alike, across instances. Report codes are ``PA-<year>-<5 digits>``,
numbered per year; the unique constraint plus a retry keeps two instances from handing out the same code.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.models import (
    ANSWERED,
    ASSIGNED,
    CLAIMED,
    CLOSED,
    NEW,
    OPEN,
    REPLIED,
    CitizenReport,
    HandoffTicket,
)
from bot.storage import repo
from bot.storage.models import QuestionLog, utcnow

T = TypeVar("T")
Sessions = sessionmaker[Session]
CODE_PREFIX = "PA"
CODE_ATTEMPTS = 30  # a code taken by a concurrent report is retried; many at the same instant need a few rounds
MAX_FIELD = 2000  # characters kept of one free-text field


def _unit(sessions: Sessions, work: Callable[[Session], T]) -> T:
    with sessions.begin() as session:
        return work(session)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class Ticket:
    """A hand-off as handlers see it."""

    id: int
    channel: str
    chat_id: str
    question: str
    context: str
    status: str
    staff_message_id: str | None
    claimed_by: str | None
    claimed_name: str | None
    answer: str | None
    created_at: dt.datetime


def _ticket(row: HandoffTicket) -> Ticket:
    return Ticket(row.id, row.channel, row.chat_id, row.question, row.context, row.status, row.staff_message_id,
                  row.claimed_by, row.claimed_name, row.answer, row.created_at)


@dataclass(frozen=True)
class Report:
    """A citizen's report as handlers and exports see it."""

    id: int
    code: str
    channel: str
    chat_id: str
    topic: str
    description: str
    location: str | None
    photo: str | None
    contact: str | None
    status: str
    staff_message_id: str | None
    assigned_to: str | None
    assigned_name: str | None
    reply: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _report(row: CitizenReport) -> Report:
    return Report(row.id, row.code, row.channel, row.chat_id, row.topic, row.description, row.location, row.photo,
                  row.contact, row.status, row.staff_message_id, row.assigned_to, row.assigned_name, row.reply,
                  row.created_at, row.updated_at)


# ----- hand-offs ---------------------------------------------------------------------------------------------


def recent_questions(*, sessions: Sessions, channel: str, external_id: str, limit: int = 3) -> list[str]:
    """The citizen's last ``limit`` logged questions, oldest first (the exchange staff see)."""
    with sessions() as session:
        user = repo.get_user(session=session, channel=channel, external_id=external_id)
        if user is None:
            return []
        rows = session.scalars(
            select(QuestionLog.raw_text).where(QuestionLog.user_id == user.id)
            .order_by(QuestionLog.created_at.desc(), QuestionLog.id.desc()).limit(limit)
        ).all()
    return list(reversed(rows))


def create_ticket(
    *, sessions: Sessions, channel: str, external_id: str, chat_id: str, question: str, context: str = "",
    now: dt.datetime | None = None,
) -> Ticket:
    """Record a question for staff."""
    now = now or utcnow()

    def work(session: Session) -> Ticket:
        user = repo.touch_user(session=session, channel=channel, external_id=external_id, now=now)
        row = HandoffTicket(user_id=user.id, channel=channel, chat_id=chat_id, question=question[:MAX_FIELD],
                            context=context[:MAX_FIELD], status=OPEN, created_at=now)
        session.add(row)
        session.flush()
        return _ticket(row)

    return _unit(sessions, work)


def set_ticket_message(*, sessions: Sessions, ticket_id: int, message_id: str) -> None:
    """Remember the staff-group message that shows the ticket."""
    _unit(sessions, lambda s: s.execute(
        update(HandoffTicket).where(HandoffTicket.id == ticket_id).values(staff_message_id=message_id)))


def get_ticket(*, sessions: Sessions, ticket_id: int) -> Ticket | None:
    """One ticket, or None."""
    with sessions() as session:
        row = session.get(HandoffTicket, ticket_id)
        return _ticket(row) if row is not None else None


def ticket_for_message(*, sessions: Sessions, message_id: str) -> Ticket | None:
    """The ticket shown by the staff-group message ``message_id``, or None."""
    with sessions() as session:
        row = session.scalar(select(HandoffTicket).where(HandoffTicket.staff_message_id == message_id))
        return _ticket(row) if row is not None else None


def claim_ticket(
    *, sessions: Sessions, ticket_id: int, staff_id: str, staff_name: str | None, now: dt.datetime | None = None
) -> tuple[bool, Ticket | None]:
    """Claim an open ticket: (True, ticket) for the one who wins; (False, ticket) when someone else holds it.

    Claiming a ticket one already holds counts as winning.
    """
    now = now or utcnow()

    def work(session: Session) -> tuple[bool, Ticket | None]:
        won = _rowcount(session.execute(
            update(HandoffTicket)
            .where(HandoffTicket.id == ticket_id, HandoffTicket.claimed_by.is_(None))
            .values(claimed_by=staff_id, claimed_name=staff_name, claimed_at=now, status=CLAIMED)
        )) > 0
        row = session.get(HandoffTicket, ticket_id)
        if row is None:
            return False, None
        session.refresh(row)
        return won or row.claimed_by == staff_id, _ticket(row)

    return _unit(sessions, work)


def answer_ticket(*, sessions: Sessions, ticket_id: int, staff_id: str, answer: str,
                  now: dt.datetime | None = None) -> bool:
    """Record the answer of the staff member holding the ticket; False when they do not hold it."""
    now = now or utcnow()
    return _unit(sessions, lambda s: _rowcount(s.execute(
        update(HandoffTicket)
        .where(HandoffTicket.id == ticket_id, HandoffTicket.claimed_by == staff_id)
        .values(answer=answer[:MAX_FIELD * 2], status=ANSWERED, answered_at=now)
    )) > 0)


def open_tickets(*, sessions: Sessions, limit: int = 50) -> list[Ticket]:
    """Tickets not answered yet, oldest first."""
    with sessions() as session:
        rows = session.scalars(
            select(HandoffTicket).where(HandoffTicket.status.in_((OPEN, CLAIMED)))
            .order_by(HandoffTicket.created_at, HandoffTicket.id).limit(limit)
        ).all()
        return [_ticket(r) for r in rows]


def take_due_reminders(*, sessions: Sessions, older_than: dt.datetime) -> list[Ticket]:
    """Unclaimed tickets waiting since before ``older_than`` and not reminded yet, marked reminded atomically.

    Each ticket is returned to exactly one caller, so several instances remind the group once.
    """

    def work(session: Session) -> list[Ticket]:
        due = session.scalars(
            select(HandoffTicket.id).where(
                HandoffTicket.status == OPEN, HandoffTicket.reminded.is_(False), HandoffTicket.created_at < older_than
            )
        ).all()
        taken: list[Ticket] = []
        for ticket_id in due:
            if _rowcount(session.execute(
                update(HandoffTicket).where(HandoffTicket.id == ticket_id, HandoffTicket.reminded.is_(False))
                .values(reminded=True)
            )):
                row = session.get(HandoffTicket, ticket_id)
                if row is not None:
                    taken.append(_ticket(row))
        return taken

    return _unit(sessions, work)


# ----- reports -----------------------------------------------------------------------------------------------


def _next_code(session: Session, year: int) -> str:
    prefix = f"{CODE_PREFIX}-{year}-"
    last = session.scalar(select(func.max(CitizenReport.code)).where(CitizenReport.code.like(prefix + "%")))
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:05d}"


def create_report(
    *, sessions: Sessions, channel: str, external_id: str, chat_id: str, topic: str, description: str,
    location: str | None = None, photo: str | None = None, contact: str | None = None, now: dt.datetime | None = None,
    year: int | None = None,
) -> Report:
    """File a report and give it the next tracking code of ``year`` (the local year; defaults to ``now``'s)."""
    now = now or utcnow()

    def work(session: Session) -> Report:
        user = repo.touch_user(session=session, channel=channel, external_id=external_id, now=now)
        row = CitizenReport(
            code=_next_code(session, year or now.year), user_id=user.id, channel=channel, chat_id=chat_id,
            topic=topic, description=description[:MAX_FIELD], location=(location or None) and location[:MAX_FIELD],
            photo=photo, contact=(contact or None) and contact[:200], status=NEW, created_at=now, updated_at=now,
        )
        session.add(row)
        session.flush()
        return _report(row)

    for attempt in range(CODE_ATTEMPTS):
        try:
            return _unit(sessions, work)
        except IntegrityError:  # another instance took the same code at the same moment: take the next one
            if attempt == CODE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise AssertionError("unreachable")


def set_report_message(*, sessions: Sessions, report_id: int, message_id: str) -> None:
    """Remember the staff-group message that shows the report."""
    _unit(sessions, lambda s: s.execute(
        update(CitizenReport).where(CitizenReport.id == report_id).values(staff_message_id=message_id)))


def get_report(*, sessions: Sessions, report_id: int) -> Report | None:
    """One report, or None."""
    with sessions() as session:
        row = session.get(CitizenReport, report_id)
        return _report(row) if row is not None else None


def report_for_message(*, sessions: Sessions, message_id: str) -> Report | None:
    """The report shown by the staff-group message ``message_id``, or None."""
    with sessions() as session:
        row = session.scalar(select(CitizenReport).where(CitizenReport.staff_message_id == message_id))
        return _report(row) if row is not None else None


def report_for_author(*, sessions: Sessions, code: str, channel: str, external_id: str) -> Report | None:
    """The report ``code`` when the asker filed it, else None (others' reports are not shown)."""
    with sessions() as session:
        user = repo.get_user(session=session, channel=channel, external_id=external_id)
        if user is None:
            return None
        row = session.scalar(select(CitizenReport).where(CitizenReport.code == code.upper(),
                                                         CitizenReport.user_id == user.id))
        return _report(row) if row is not None else None


def assign_report(*, sessions: Sessions, report_id: int, staff_id: str, staff_name: str | None,
                  now: dt.datetime | None = None) -> tuple[bool, Report | None]:
    """Assign a new report to the first staff member who takes it; (won, report)."""
    now = now or utcnow()

    def work(session: Session) -> tuple[bool, Report | None]:
        won = _rowcount(session.execute(
            update(CitizenReport).where(CitizenReport.id == report_id, CitizenReport.assigned_to.is_(None),
                                        CitizenReport.status != CLOSED)
            .values(assigned_to=staff_id, assigned_name=staff_name, status=ASSIGNED, updated_at=now)
        )) > 0
        row = session.get(CitizenReport, report_id)
        if row is None:
            return False, None
        session.refresh(row)
        return won, _report(row)

    return _unit(sessions, work)


def reply_report(*, sessions: Sessions, report_id: int, staff_id: str, staff_name: str | None, reply: str,
                 now: dt.datetime | None = None) -> Report | None:
    """Record staff's reply (assigning the report to them if nobody had it); None when closed or held by another."""
    now = now or utcnow()

    def work(session: Session) -> Report | None:
        changed = _rowcount(session.execute(
            update(CitizenReport)
            .where(CitizenReport.id == report_id, CitizenReport.status != CLOSED,
                   (CitizenReport.assigned_to.is_(None)) | (CitizenReport.assigned_to == staff_id))
            .values(assigned_to=staff_id, assigned_name=func.coalesce(CitizenReport.assigned_name, staff_name),
                    reply=reply[:MAX_FIELD * 2], status=REPLIED, updated_at=now)
        ))
        row = session.get(CitizenReport, report_id)
        if not changed or row is None:
            return None
        session.refresh(row)
        return _report(row)

    return _unit(sessions, work)


def close_report(*, sessions: Sessions, report_id: int, now: dt.datetime | None = None) -> Report | None:
    """Close a report once; None when it was already closed (or does not exist)."""
    now = now or utcnow()

    def work(session: Session) -> Report | None:
        changed = _rowcount(session.execute(
            update(CitizenReport).where(CitizenReport.id == report_id, CitizenReport.status != CLOSED)
            .values(status=CLOSED, closed_at=now, updated_at=now)
        ))
        row = session.get(CitizenReport, report_id)
        if not changed or row is None:
            return None
        session.refresh(row)
        return _report(row)

    return _unit(sessions, work)


def open_reports(*, sessions: Sessions, limit: int = 50) -> list[Report]:
    """Reports not closed yet, oldest first."""
    with sessions() as session:
        rows = session.scalars(
            select(CitizenReport).where(CitizenReport.status != CLOSED)
            .order_by(CitizenReport.created_at, CitizenReport.id).limit(limit)
        ).all()
        return [_report(r) for r in rows]


def reports_since(*, sessions: Sessions, since: dt.datetime | None) -> Sequence[Report]:
    """Every report filed since ``since`` (all when None), oldest first, for the ward's export."""
    with sessions() as session:
        query = select(CitizenReport).order_by(CitizenReport.created_at, CitizenReport.id)
        if since is not None:
            query = query.where(CitizenReport.created_at >= since)
        return [_report(r) for r in session.scalars(query).all()]


def purge_handled(*, sessions: Sessions, before: dt.datetime) -> int:
    """Delete answered tickets and closed reports last touched before ``before``; returns how many went."""

    def work(session: Session) -> int:
        tickets = session.execute(delete(HandoffTicket).where(
            HandoffTicket.status == ANSWERED, HandoffTicket.answered_at < before))
        reports = session.execute(delete(CitizenReport).where(
            CitizenReport.status == CLOSED, CitizenReport.updated_at < before))
        return _rowcount(tickets) + _rowcount(reports)

    return _unit(sessions, work)
