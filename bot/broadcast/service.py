"""Announcement data functions: subscriptions, broadcasts (create, schedule, release, cancel, status) and staff.

Every function is keyword-only and owns its session (one unit of work each); :class:`BroadcastService` is the
async face handlers use, running the same functions in a worker thread. The rows are the truth: releasing a
scheduled broadcast or creating a planned occurrence is idempotent, so a job firing twice never sends twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.broadcast.models import (
    BLOCKED,
    CANCELLED,
    CLAIMED,
    DONE,
    DROPPED,
    FAILED,
    MISSED,
    OPEN_DELIVERY,
    PENDING,
    SCHEDULED,
    SENDING,
    SENT,
    SKIPPED,
    Broadcast,
    Delivery,
    StaffMember,
)
from bot.storage import repo
from bot.storage.db import run_single
from bot.storage.models import User, utcnow

T = TypeVar("T")
Sessions = sessionmaker[Session]
DEFAULT_CHANNELS: tuple[str, ...] = ("telegram",)  # until the composition root says which channels run


@dataclass(frozen=True)
class Subscription:
    """A citizen's announcement choices."""

    subscribed: bool
    topics: tuple[str, ...]  # empty: every topic
    area: str | None  # None: the whole ward


@dataclass(frozen=True)
class BroadcastStatus:
    """Where one broadcast stands, with counts per delivery status and an estimate of the time left."""

    id: int
    status: str
    text: str
    topic: str | None
    area: str | None
    scheduled_at: dt.datetime | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    remaining: int
    report_channel: str | None
    report_chat_id: str | None
    progress_message_id: str | None
    key: str | None
    note: str | None
    now: dt.datetime
    skip_reasons: dict[str, int] = field(default_factory=dict)  # why deliveries were skipped → how many

    @property
    def done_count(self) -> int:
        """Deliveries that reached a final state."""
        return self.sent + self.failed + self.blocked + self.skipped

    @property
    def rate(self) -> float:
        """Messages per second since the broadcast started (0 before the first one)."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at or self.now
        elapsed = (end - self.started_at).total_seconds()
        return self.done_count / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Estimated seconds left, or None before there is a rate to go on."""
        if self.remaining == 0:
            return 0.0
        rate = self.rate
        return self.remaining / rate if rate > 0 else None


def _changed(result: object) -> bool:
    """True when an UPDATE/DELETE touched exactly one row."""
    return int(getattr(result, "rowcount", 0)) == 1


def _unit(sessions: Sessions, work: Callable[[Session], T]) -> T:
    with sessions.begin() as session:
        return work(session)


def split_topics(value: str) -> tuple[str, ...]:
    """Topic slugs stored comma-separated."""
    return tuple(t for t in (p.strip() for p in value.split(",")) if t)


# --- subscriptions -----------------------------------------------------------------------------------


def get_subscription(*, sessions: Sessions, channel: str, external_id: str) -> Subscription:
    """The user's choices (not subscribed when the user is unknown)."""

    def work(session: Session) -> Subscription:
        user = repo.get_user(session=session, channel=channel, external_id=external_id)
        if user is None:
            return Subscription(False, (), None)
        return Subscription(user.subscribed, split_topics(user.topics), user.area)

    return _unit(sessions, work)


def update_subscription(
    *,
    sessions: Sessions,
    channel: str,
    external_id: str,
    display_name: str | None = None,
    subscribed: bool | None = None,
    topics: Sequence[str] | None = None,
    area: str | bool | None = False,
    now: dt.datetime | None = None,
) -> tuple[Subscription, Subscription]:
    """Change any of subscribed / topics / area (``area=False`` leaves it); returns (before, after)."""

    def work(session: Session) -> tuple[Subscription, Subscription]:
        user = repo.touch_user(
            session=session, channel=channel, external_id=external_id, display_name=display_name, now=now
        )
        before = Subscription(bool(user.subscribed), split_topics(user.topics or ""), user.area)
        if subscribed is not None:
            user.subscribed = subscribed
        if topics is not None:
            user.topics = ",".join(topics)
        if area is not False:
            user.area = area if isinstance(area, str) else None
        session.flush()
        return before, Subscription(user.subscribed, split_topics(user.topics), user.area)

    return _unit(sessions, work)


def _recipients(topic: str | None, area: str | None, channels: Iterable[str]) -> list[ColumnElement[bool]]:
    """WHERE clauses choosing the subscribers of ``topic`` in ``area`` (no topics / no area = everything)."""
    clauses: list[ColumnElement[bool]] = [
        User.subscribed.is_(True),
        User.is_active.is_(True),
        User.channel.in_(list(channels)),
    ]
    if topic:
        clauses.append(or_(User.topics == "", (literal(",") + User.topics + literal(",")).like(f"%,{topic},%")))
    if area:
        clauses.append(or_(User.area.is_(None), User.area == area))
    return clauses


def count_recipients(
    *, sessions: Sessions, topic: str | None, area: str | None, channels: Iterable[str] = DEFAULT_CHANNELS
) -> int:
    """How many subscribers a notice for ``topic`` / ``area`` would reach now."""
    query = select(func.count()).select_from(User).where(*_recipients(topic, area, channels))
    return _unit(sessions, lambda session: int(session.scalar(query) or 0))


# --- broadcasts --------------------------------------------------------------------------------------


def _release(session: Session, broadcast: Broadcast, now: dt.datetime, channels: Iterable[str]) -> int:
    """Turn the current subscribers into pending deliveries and mark the broadcast as sending."""
    chosen = select(literal(broadcast.id), User.id, User.channel, User.external_id, literal(PENDING), literal(0)).where(
        *_recipients(broadcast.topic, broadcast.area, channels)
    )
    session.execute(
        insert(Delivery).from_select(["broadcast_id", "user_id", "channel", "chat_id", "status", "attempts"], chosen)
    )
    total = int(
        session.scalar(select(func.count()).select_from(Delivery).where(Delivery.broadcast_id == broadcast.id)) or 0
    )
    broadcast.total = total
    broadcast.status = SENDING
    broadcast.started_at = now
    if total == 0:
        broadcast.status = DONE
        broadcast.finished_at = now
    session.flush()
    return total


def create_broadcast(
    *,
    sessions: Sessions,
    text: str,
    topic: str | None = None,
    area: str | None = None,
    scheduled_at: dt.datetime | None = None,
    created_by: str | None = None,
    report_channel: str | None = None,
    report_chat_id: str | None = None,
    progress_message_id: str | None = None,
    key: str | None = None,
    now: dt.datetime | None = None,
    channels: Iterable[str] = DEFAULT_CHANNELS,
) -> int | None:
    """Create a broadcast: sending now (deliveries created at once) or scheduled; None if ``key`` exists."""
    now = now or utcnow()

    def work(session: Session) -> int:
        broadcast = Broadcast(
            key=key,
            text=text,
            topic=topic,
            area=area,
            status=SCHEDULED,
            scheduled_at=scheduled_at,
            created_at=now,
            created_by=created_by,
            total=0,
            report_channel=report_channel,
            report_chat_id=report_chat_id,
            progress_message_id=progress_message_id,
        )
        session.add(broadcast)
        session.flush()
        if scheduled_at is None:
            _release(session, broadcast, now, channels)
        return broadcast.id

    try:
        return _unit(sessions, work)
    except IntegrityError:
        if key is None:
            raise
        return None


def release_broadcast(
    *, sessions: Sessions, broadcast_id: int, now: dt.datetime | None = None, channels: Iterable[str] = DEFAULT_CHANNELS
) -> bool:
    """Start a scheduled broadcast; False when it is not (or no longer) scheduled, so firing twice is harmless."""
    now = now or utcnow()

    def work(session: Session) -> bool:
        claimed = session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == SCHEDULED)
            .values(status=SENDING, started_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        _release(session, broadcast, now, channels)
        return True

    return _unit(sessions, work)


def mark_missed(*, sessions: Sessions, broadcast_id: int, note: str, now: dt.datetime | None = None) -> bool:
    """Record that a scheduled broadcast's time passed beyond the grace period; False if it was not scheduled."""
    now = now or utcnow()
    query = (
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == SCHEDULED)
        .values(status=MISSED, finished_at=now, note=note)
    )
    return _unit(sessions, lambda session: _changed(session.execute(query)))


def record_missed_occurrence(
    *,
    sessions: Sessions,
    key: str,
    text: str,
    topic: str | None,
    area: str | None,
    occurrence: dt.datetime,
    note: str,
    now: dt.datetime | None = None,
) -> int | None:
    """Record a planned occurrence that was missed (a row with status ``missed``); None if already recorded."""
    now = now or utcnow()

    def work(session: Session) -> int:
        broadcast = Broadcast(
            key=key,
            text=text,
            topic=topic,
            area=area,
            status=MISSED,
            scheduled_at=occurrence,
            created_at=now,
            created_by="schedule",
            total=0,
            finished_at=now,
            note=note,
        )
        session.add(broadcast)
        session.flush()
        return broadcast.id

    try:
        return _unit(sessions, work)
    except IntegrityError:
        return None


def cancel_broadcast(*, sessions: Sessions, broadcast_id: int, now: dt.datetime | None = None) -> bool:
    """Cancel a scheduled or running broadcast; deliveries not yet sent are dropped."""
    now = now or utcnow()

    def work(session: Session) -> bool:
        result = session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status.in_([SCHEDULED, SENDING]))
            .values(status=CANCELLED, finished_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        session.execute(
            update(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.status == PENDING)
            .values(status=DROPPED, reason="cancelled")
        )
        return True

    return _unit(sessions, work)


def finish_if_drained(*, sessions: Sessions, broadcast_id: int, now: dt.datetime | None = None) -> bool:
    """Mark a sending broadcast done when no delivery is left open; True only for the caller that did it."""
    now = now or utcnow()
    still_open = (
        select(Delivery.id).where(Delivery.broadcast_id == broadcast_id, Delivery.status.in_(OPEN_DELIVERY)).exists()
    )
    query = (
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == SENDING, ~still_open)
        .values(status=DONE, finished_at=now)
    )
    return run_single(sessions, query)[0] == 1


def set_progress_message(*, sessions: Sessions, broadcast_id: int, message_id: str) -> None:
    """Remember which message shows the broadcast's live progress."""

    def work(session: Session) -> None:
        session.execute(update(Broadcast).where(Broadcast.id == broadcast_id).values(progress_message_id=message_id))

    _unit(sessions, work)


def _status(session: Session, broadcast: Broadcast, now: dt.datetime) -> BroadcastStatus:
    counts = dict(
        session.execute(
            select(Delivery.status, func.count()).where(Delivery.broadcast_id == broadcast.id).group_by(Delivery.status)
        ).all()
    )
    return BroadcastStatus(
        id=broadcast.id,
        status=broadcast.status,
        text=broadcast.text,
        topic=broadcast.topic,
        area=broadcast.area,
        scheduled_at=broadcast.scheduled_at,
        created_at=broadcast.created_at,
        started_at=broadcast.started_at,
        finished_at=broadcast.finished_at,
        total=broadcast.total,
        sent=counts.get(SENT, 0),
        failed=counts.get(FAILED, 0),
        blocked=counts.get(BLOCKED, 0),
        skipped=counts.get(SKIPPED, 0),
        remaining=counts.get(PENDING, 0) + counts.get(CLAIMED, 0),
        report_channel=broadcast.report_channel,
        report_chat_id=broadcast.report_chat_id,
        progress_message_id=broadcast.progress_message_id,
        key=broadcast.key,
        note=broadcast.note,
        now=now,
        skip_reasons={
            str(reason or ""): int(count)
            for reason, count in session.execute(
                select(Delivery.reason, func.count())
                .where(Delivery.broadcast_id == broadcast.id, Delivery.status == SKIPPED)
                .group_by(Delivery.reason)
            ).all()
        },
    )


def broadcast_status(
    *, sessions: Sessions, broadcast_id: int, now: dt.datetime | None = None
) -> BroadcastStatus | None:
    """The status of one broadcast, or None."""
    now = now or utcnow()

    def work(session: Session) -> BroadcastStatus | None:
        broadcast = session.get(Broadcast, broadcast_id)
        return None if broadcast is None else _status(session, broadcast, now)

    return _unit(sessions, work)


def list_broadcasts(
    *, sessions: Sessions, statuses: Sequence[str] | None = None, limit: int = 20, now: dt.datetime | None = None
) -> list[BroadcastStatus]:
    """Broadcasts (newest first), optionally only with some statuses."""
    now = now or utcnow()
    query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    if statuses is not None:
        query = query.where(Broadcast.status.in_(list(statuses)))

    def work(session: Session) -> list[BroadcastStatus]:
        return [_status(session, b, now) for b in session.scalars(query)]

    return _unit(sessions, work)


def scheduled_broadcasts(*, sessions: Sessions) -> list[tuple[int, dt.datetime]]:
    """(id, time) of every broadcast still waiting for its time."""
    query = select(Broadcast.id, Broadcast.scheduled_at).where(Broadcast.status == SCHEDULED)

    def work(session: Session) -> list[tuple[int, dt.datetime]]:
        return [(i, t or utcnow()) for i, t in session.execute(query).all()]

    return _unit(sessions, work)


def sending_broadcast_ids(*, sessions: Sessions) -> list[int]:
    """Ids of the broadcasts being drained."""
    return _unit(
        sessions, lambda session: list(session.scalars(select(Broadcast.id).where(Broadcast.status == SENDING)))
    )


# --- staff -------------------------------------------------------------------------------------------


def is_staff(*, sessions: Sessions, channel: str, external_id: str) -> bool:
    """True when the staff table lists this person."""
    query = select(StaffMember.id).where(StaffMember.channel == channel, StaffMember.external_id == external_id)
    return _unit(sessions, lambda session: session.scalar(query) is not None)


def add_staff(*, sessions: Sessions, channel: str, external_id: str, added_by: str | None = None) -> bool:
    """Add someone to the staff table; False when they were already there."""

    def work(session: Session) -> bool:
        existing = session.scalar(
            select(StaffMember).where(StaffMember.channel == channel, StaffMember.external_id == external_id)
        )
        if existing is not None:
            return False
        session.add(StaffMember(channel=channel, external_id=external_id, added_by=added_by))
        return True

    return _unit(sessions, work)


def remove_staff(*, sessions: Sessions, channel: str, external_id: str) -> bool:
    """Remove someone from the staff table; False when they were not there."""
    query = delete(StaffMember).where(StaffMember.channel == channel, StaffMember.external_id == external_id)
    return _unit(sessions, lambda session: _changed(session.execute(query)))


def list_staff(*, sessions: Sessions, channel: str | None = None) -> list[tuple[str, str]]:
    """(channel, id) of everyone in the staff table."""
    query = select(StaffMember.channel, StaffMember.external_id).order_by(StaffMember.id)
    if channel is not None:
        query = query.where(StaffMember.channel == channel)
    return _unit(sessions, lambda session: [(c, e) for c, e in session.execute(query).all()])


class BroadcastService:
    """The async face of this module for handlers: the same functions, run off the event loop."""

    def __init__(self, sessions: Sessions, clock: Callable[[], dt.datetime], channels: Sequence[str]) -> None:
        self.sessions = sessions
        self.clock = clock
        self.channels = tuple(channels)

    async def is_staff(self, *, channel: str, external_id: str) -> bool:
        """True when the staff table lists this person."""
        return await asyncio.to_thread(is_staff, sessions=self.sessions, channel=channel, external_id=external_id)

    async def add_staff(self, *, channel: str, external_id: str, added_by: str | None) -> bool:
        """Add someone to the staff table."""
        return await asyncio.to_thread(
            add_staff, sessions=self.sessions, channel=channel, external_id=external_id, added_by=added_by
        )

    async def remove_staff(self, *, channel: str, external_id: str) -> bool:
        """Remove someone from the staff table."""
        return await asyncio.to_thread(remove_staff, sessions=self.sessions, channel=channel, external_id=external_id)

    async def list_staff(self) -> list[tuple[str, str]]:
        """Everyone in the staff table."""
        return await asyncio.to_thread(list_staff, sessions=self.sessions)

    async def subscription(self, *, channel: str, external_id: str) -> Subscription:
        """The user's choices."""
        return await asyncio.to_thread(
            get_subscription, sessions=self.sessions, channel=channel, external_id=external_id
        )

    async def update_subscription(
        self,
        *,
        channel: str,
        external_id: str,
        display_name: str | None = None,
        subscribed: bool | None = None,
        topics: Sequence[str] | None = None,
        area: str | bool | None = False,
    ) -> tuple[Subscription, Subscription]:
        """Change the user's choices; returns (before, after)."""
        return await asyncio.to_thread(
            update_subscription,
            sessions=self.sessions,
            channel=channel,
            external_id=external_id,
            display_name=display_name,
            subscribed=subscribed,
            topics=topics,
            area=area,
            now=self.clock(),
        )

    async def count_recipients(self, *, topic: str | None, area: str | None) -> int:
        """How many subscribers a notice would reach now."""
        return await asyncio.to_thread(
            count_recipients, sessions=self.sessions, topic=topic, area=area, channels=self.channels
        )

    async def create(
        self,
        *,
        text: str,
        topic: str | None,
        area: str | None,
        scheduled_at: dt.datetime | None,
        created_by: str,
        report_channel: str,
        report_chat_id: str,
        progress_message_id: str | None,
    ) -> int:
        """Create a broadcast now or at ``scheduled_at``; returns its id."""
        created = await asyncio.to_thread(
            create_broadcast,
            sessions=self.sessions,
            text=text,
            topic=topic,
            area=area,
            scheduled_at=scheduled_at,
            created_by=created_by,
            report_channel=report_channel,
            report_chat_id=report_chat_id,
            progress_message_id=progress_message_id,
            now=self.clock(),
            channels=self.channels,
        )
        assert created is not None
        return created

    async def cancel(self, broadcast_id: int) -> bool:
        """Cancel a scheduled or running broadcast."""
        return await asyncio.to_thread(cancel_broadcast, sessions=self.sessions, broadcast_id=broadcast_id)

    async def status(self, broadcast_id: int) -> BroadcastStatus | None:
        """The status of one broadcast."""
        return await asyncio.to_thread(broadcast_status, sessions=self.sessions, broadcast_id=broadcast_id)

    async def upcoming(self) -> list[BroadcastStatus]:
        """Scheduled and running broadcasts, newest first."""
        return await asyncio.to_thread(list_broadcasts, sessions=self.sessions, statuses=[SCHEDULED, SENDING])


def planned_keys(*, sessions: Sessions) -> set[str]:
    """Keys of every broadcast row created for a planned notice (sent, running or missed)."""
    query = select(Broadcast.key).where(Broadcast.key.like("planned:%"))
    return _unit(sessions, lambda session: {k for k in session.scalars(query) if k})
