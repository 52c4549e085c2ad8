"""APScheduler 3 with its SQLAlchemy job store in the bot's database: schedules survive restarts.

Jobs are module-level functions with stable ids (``broadcast-<id>``, ``planned-<id>``) added with
``replace_existing=True``; they only call back into the running :class:`~bot.broadcast.runtime.BroadcastRuntime`,
whose database rows decide what is sent. A run whose time passed while the bot was down is still made when
within ``misfire_grace_time``; otherwise APScheduler reports it missed and the runtime records and reports it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import Engine

from bot.broadcast.planned import PlannedNotice

log = logging.getLogger(__name__)

BROADCAST_PREFIX = "broadcast-"
PLANNED_PREFIX = "planned-"


class JobTarget(Protocol):
    """What the jobs call: the running broadcast runtime."""

    async def fire_broadcast(self, broadcast_id: int) -> None:
        """A scheduled broadcast's time has come."""
        ...

    async def fire_planned(self, notice_id: str) -> None:
        """A planned notice's time has come."""
        ...


_target: JobTarget | None = None


def set_job_target(target: JobTarget | None) -> None:
    """Point the module-level jobs at the running runtime (None to detach)."""
    global _target
    _target = target


async def fire_broadcast(broadcast_id: int) -> None:
    """Job: release one scheduled broadcast."""
    if _target is None:
        log.warning("broadcast job %s fired without a running runtime", broadcast_id)
        return
    await _target.fire_broadcast(broadcast_id)


async def fire_planned(notice_id: str) -> None:
    """Job: create this occurrence of a planned notice."""
    if _target is None:
        log.warning("planned job %s fired without a running runtime", notice_id)
        return
    await _target.fire_planned(notice_id)


def cron_trigger(expression: str, timezone: ZoneInfo) -> CronTrigger:
    """A trigger for a five-field cron expression (minute hour day month weekday) in ``timezone``."""
    return CronTrigger.from_crontab(expression, timezone=timezone)


def planned_trigger(notice: PlannedNotice, timezone: ZoneInfo) -> DateTrigger | CronTrigger:
    """The trigger of a planned notice."""
    if notice.at is not None:
        return DateTrigger(run_date=notice.at.replace(tzinfo=timezone), timezone=timezone)
    assert notice.cron is not None
    return cron_trigger(notice.cron, timezone)


def occurrence_of(notice: PlannedNotice, timezone: ZoneInfo, now: dt.datetime, grace_seconds: float) -> dt.datetime:
    """The scheduled time of the run happening at ``now``: the latest fire time not after ``now``."""
    if notice.at is not None:
        return notice.at.replace(tzinfo=timezone).astimezone(dt.UTC)
    trigger = planned_trigger(notice, timezone)
    probe = now.astimezone(timezone) - dt.timedelta(seconds=grace_seconds + 60)
    latest: dt.datetime | None = None
    fire = trigger.get_next_fire_time(None, probe)
    while fire is not None and fire <= now + dt.timedelta(seconds=1):
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
    return (latest or now).astimezone(dt.UTC).replace(microsecond=0)


class NoticeScheduler:
    """The APScheduler instance of the leader process."""

    def __init__(
        self,
        *,
        engine: Engine,
        timezone: str,
        grace_seconds: int,
        on_missed: Callable[[str, dt.datetime], None],
    ) -> None:
        self.timezone = ZoneInfo(timezone)
        self.grace_seconds = grace_seconds
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine)},
            job_defaults={"misfire_grace_time": grace_seconds, "coalesce": True, "max_instances": 1},
            timezone=self.timezone,
        )
        self._on_missed = on_missed
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    def _missed(self, event: Any) -> None:
        if isinstance(event, JobExecutionEvent):
            self._on_missed(str(event.job_id), event.scheduled_run_time)

    def start(self, *, paused: bool = False) -> None:
        """Start the scheduler (``paused``: read the job store but fire nothing until :meth:`resume`)."""
        self.scheduler.start(paused=paused)

    def resume(self) -> None:
        """Start firing jobs; runs missed within the grace period fire now, older ones are reported missed."""
        self.scheduler.resume()

    def shutdown(self) -> None:
        """Stop firing jobs; the job store keeps them for the next leader."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def ensure_daily(self, func: Callable[[], Awaitable[object]], job_id: str, *, hour: int, minute: int) -> None:
        """Run a module-level coroutine function every day at ``hour:minute`` local time (idempotent)."""
        trigger = CronTrigger(hour=hour, minute=minute, timezone=self.timezone)
        job = self.scheduler.get_job(job_id)
        if job is None or str(job.trigger) != str(trigger):
            self.scheduler.add_job(func, trigger, id=job_id, replace_existing=True)

    def ensure_monthly(
        self, func: Callable[[], Awaitable[object]], job_id: str, *, day: int, hour: int, minute: int
    ) -> None:
        """Run a module-level coroutine function every month on ``day`` at ``hour:minute`` local time (idempotent)."""
        trigger = CronTrigger(day=day, hour=hour, minute=minute, timezone=self.timezone)
        job = self.scheduler.get_job(job_id)
        if job is None or str(job.trigger) != str(trigger):
            self.scheduler.add_job(func, trigger, id=job_id, replace_existing=True)

    def job_ids(self) -> set[str]:
        """Ids of every stored job."""
        return {job.id for job in self.scheduler.get_jobs()}

    def sync_broadcasts(self, scheduled: Iterable[tuple[int, dt.datetime]]) -> None:
        """Make the ``broadcast-*`` jobs match the scheduled rows (adding missing ones, dropping stale ones)."""
        wanted = {f"{BROADCAST_PREFIX}{bid}": when for bid, when in scheduled}
        existing = {job.id: job for job in self.scheduler.get_jobs() if job.id.startswith(BROADCAST_PREFIX)}
        for job_id in existing:
            if job_id not in wanted:
                self.scheduler.remove_job(job_id)
        for job_id, when in wanted.items():
            job = existing.get(job_id)
            if job is not None and job.next_run_time is not None and job.next_run_time == when:
                continue
            if job is not None and job.next_run_time is None:
                continue
            self.scheduler.add_job(
                fire_broadcast,
                DateTrigger(run_date=when, timezone=self.timezone),
                id=job_id,
                args=[int(job_id[len(BROADCAST_PREFIX) :])],
                replace_existing=True,
            )

    def sync_planned(self, notices: Iterable[PlannedNotice], today: dt.date, known_keys: set[str]) -> None:
        """Make the ``planned-*`` jobs match the active planned notices (one-offs already recorded are left out)."""
        wanted: dict[str, PlannedNotice] = {}
        for notice in notices:
            if not notice.active or (notice.active_until is not None and notice.active_until < today):
                continue
            if notice.at is not None and occurrence_key(notice, self.timezone) in known_keys:
                continue  # this one-off already ran or was reported missed
            wanted[f"{PLANNED_PREFIX}{notice.id}"] = notice
        stored = {job.id: job for job in self.scheduler.get_jobs() if job.id.startswith(PLANNED_PREFIX)}
        for job_id in stored:
            if job_id not in wanted:
                self.scheduler.remove_job(job_id)
        for job_id, notice in wanted.items():
            trigger = planned_trigger(notice, self.timezone)
            job = stored.get(job_id)
            if job is not None and str(job.trigger) == str(trigger):
                continue  # unchanged: keep its next run time (and any pending misfire)
            self.scheduler.add_job(fire_planned, trigger, id=job_id, args=[notice.id], replace_existing=True)


def occurrence_key(notice: PlannedNotice, timezone: ZoneInfo, occurrence: dt.datetime | None = None) -> str:
    """The unique broadcast key of one occurrence of a planned notice."""
    if occurrence is None:
        assert notice.at is not None
        occurrence = notice.at.replace(tzinfo=timezone)
    return f"planned:{notice.id}:{occurrence.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%MZ')}"
