"""The broadcasting part of a running bot: delivery workers, leader election, the scheduler, live progress.

``start_broadcasting(services, senders, views)`` is the one call the composition root makes after the channels
start; ``BroadcastRuntime.stop()`` the one it makes on shutdown. Every process runs delivery workers; only the
leader (see :mod:`bot.broadcast.leader`) runs the scheduler, keeps it in sync with the database and the
planned-notices file, and edits the staff's progress messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot import retention, review
from bot.broadcast import service
from bot.broadcast.engine import DeliveryWorker, Eligibility, EngineConfig, recover_stale_claims
from bot.broadcast.models import SENDING
from bot.broadcast.planned import PlannedNotice, planned_notices
from bot.broadcast.ratelimit import RateLimiter
from bot.broadcast.scheduler import (
    BROADCAST_PREFIX,
    PLANNED_PREFIX,
    NoticeScheduler,
    occurrence_key,
    occurrence_of,
    set_job_target,
)
from bot.broadcast.service import BroadcastStatus
from bot.channel import REPLY
from bot.gateway import BroadcastPacing, BroadcastSender, OutboundGateway
from bot.messages import DeliveryError, Reply, Sender
from bot.services import Services
from bot.storage.db import create_engine_for
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BroadcastViews:
    """How notices and reports look; supplied by the handlers layer (every text lives in ``handlers.texts``)."""

    notice: Callable[[str], Reply]  # notice text → exactly what citizens receive
    progress: Callable[[BroadcastStatus], str]
    final: Callable[[BroadcastStatus], str]
    missed: Callable[[str, dt.datetime], str]  # notice text, local time it should have gone out


class BroadcastRuntime:
    """Workers, leader election, scheduler and progress reporting of one bot process."""

    def __init__(
        self,
        services: Services,
        senders: Mapping[str, Sender],
        views: BroadcastViews,
        *,
        eligibility: Mapping[str, Eligibility] | None = None,
        workers_per_channel: int = 1,
        run_scheduler: bool = True,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.senders = dict(senders)
        self.views = views
        self.timezone = ZoneInfo(self.settings.bot_timezone)
        self.stop_event = asyncio.Event()
        # a channel's gateway paces replies and notices together; a bare sender (tests, tools) gets its own limiter
        self.limiters: dict[str, RateLimiter | BroadcastPacing] = {
            channel: BroadcastPacing(sender) if isinstance(sender, OutboundGateway) else RateLimiter(
                self.settings.broadcast_rate_per_second, self.settings.broadcast_per_chat_interval
            )
            for channel, sender in self.senders.items()
        }
        worker_senders: dict[str, Sender] = {
            channel: BroadcastSender(sender) if isinstance(sender, OutboundGateway) else sender
            for channel, sender in self.senders.items()
        }
        config = EngineConfig(
            batch_size=self.settings.broadcast_batch_size,
            lease_seconds=self.settings.broadcast_lease_seconds,
            max_attempts=self.settings.broadcast_max_attempts,
            poll_interval=self.settings.broadcast_poll_interval,
        )
        eligibility = eligibility or {}
        self.workers = [
            DeliveryWorker(
                sessions=services.sessions,
                sender=sender,
                limiter=self.limiters[channel],
                render=views.notice,
                config=config,
                eligibility=eligibility.get(channel),
                on_finished=self.report_final,
            )
            for channel, sender in worker_senders.items()
            for _ in range(max(1, workers_per_channel))
        ]
        self.run_scheduler = run_scheduler
        self.scheduler: NoticeScheduler | None = None
        self._job_engine: Engine | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._leader_tasks: list[asyncio.Task[None]] = []
        self._report_lock = asyncio.Lock()

    @property
    def is_postgres(self) -> bool:
        """True when the database is PostgreSQL (several processes may share it)."""
        return self.settings.database_url.startswith(("postgres", "postgresql"))

    async def start(self) -> None:
        """Start the workers and the leader election."""
        from bot.broadcast.leader import LeaderElection

        if not self.is_postgres:  # SQLite: one process; claims left by a killed run go back to pending
            for channel in self.senders:
                count = await asyncio.to_thread(recover_stale_claims, sessions=self.services.sessions, channel=channel)
                if count:
                    log.info("resuming %d %s deliveries claimed before a restart", count, channel)
        for index, worker in enumerate(self.workers):
            self._tasks.append(asyncio.create_task(worker.run(self.stop_event), name=f"delivery-{index}"))
        election = LeaderElection(self.settings.database_url)
        self._tasks.append(
            asyncio.create_task(election.run(self.stop_event, self._elected, self._lost), name="leader-election")
        )

    async def stop(self) -> None:
        """Stop everything; unsent claims go back to pending for the next start."""
        self.stop_event.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        await self._lost()
        for worker in self.workers:
            log.info("delivery worker %s stopped after sending %d messages", worker.token[:8], worker.sent)

    def wake(self) -> None:
        """Make the workers look for new deliveries now."""
        for worker in self.workers:
            worker.wake()

    # ----- leadership --------------------------------------------------------------------------------------

    async def _elected(self) -> None:
        set_job_target(self)
        if self.run_scheduler:
            self._job_engine = create_engine_for(self.settings.database_url)
            self.scheduler = NoticeScheduler(
                engine=self._job_engine,
                timezone=self.settings.bot_timezone,
                grace_seconds=self.settings.schedule_grace_seconds,
                on_missed=self._on_missed,
            )
            # start paused: stored jobs are read before syncing, so a cron run missed while down keeps its
            # old time (sent now if within the grace period, reported otherwise) instead of being recomputed
            self.scheduler.start(paused=True)
            await self.sync()
            retention.set_purge_target(self.services.sessions, self.settings)
            self.scheduler.ensure_daily(retention.daily_purge, retention.JOB_ID, hour=3, minute=17)
            review.set_reminder_target(review.ReminderTarget(
                lambda: self.services.knowledge.kb, self.notify_staff, self.settings.knowledge_review_days,
                self.settings.bot_timezone,
            ))  # fmt: skip
            self.scheduler.ensure_monthly(review.monthly_review_reminder, review.JOB_ID, day=1, hour=8, minute=0)
            self.scheduler.resume()
            self._leader_tasks.append(asyncio.create_task(self._sync_loop(), name="schedule-sync"))
        self._leader_tasks.append(asyncio.create_task(self._progress_loop(), name="broadcast-progress"))

    async def _lost(self) -> None:
        await cancel_and_wait(*self._leader_tasks)
        self._leader_tasks.clear()
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        if self._job_engine is not None:
            self._job_engine.dispose()
            self._job_engine = None
        set_job_target(None)
        review.set_reminder_target(None)

    async def sync(self) -> None:
        """Bring the scheduler in line with the scheduled rows and the planned-notices file."""
        scheduler = self.scheduler
        if scheduler is None:
            return
        sessions = self.services.sessions
        scheduled = await asyncio.to_thread(service.scheduled_broadcasts, sessions=sessions)
        keys = await asyncio.to_thread(service.planned_keys, sessions=sessions)
        config = self.services.knowledge.config
        notices = planned_notices(config)
        today = dt.datetime.now(self.timezone).date()

        def work() -> None:
            scheduler.sync_broadcasts(scheduled)
            scheduler.sync_planned(notices, today, keys)

        await asyncio.to_thread(work)

    async def _sync_loop(self) -> None:
        interval = self.settings.schedule_sync_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sync()
            except Exception:
                log.exception("schedule sync failed")

    # ----- jobs --------------------------------------------------------------------------------------------

    def _notice(self, notice_id: str) -> PlannedNotice | None:
        return next((n for n in planned_notices(self.services.knowledge.config) if n.id == notice_id), None)

    async def fire_broadcast(self, broadcast_id: int) -> None:
        """Release a scheduled broadcast to the workers (a second firing does nothing)."""
        released = await asyncio.to_thread(
            service.release_broadcast,
            sessions=self.services.sessions,
            broadcast_id=broadcast_id,
            channels=tuple(self.senders),
        )
        if released:
            log.info("scheduled broadcast %s released", broadcast_id)
            self.wake()

    async def fire_planned(self, notice_id: str) -> None:
        """Create this occurrence of a planned notice (once, whatever happens to the job)."""
        notice = self._notice(notice_id)
        if notice is None or not notice.active:
            log.info("planned notice %s is gone or inactive; not sent", notice_id)
            return
        now = dt.datetime.now(dt.UTC)
        today = now.astimezone(self.timezone).date()
        if (notice.active_from and today < notice.active_from) or (notice.active_until and today > notice.active_until):
            return
        occurrence = occurrence_of(notice, self.timezone, now, self.settings.schedule_grace_seconds)
        created = await asyncio.to_thread(
            service.create_broadcast,
            sessions=self.services.sessions,
            text=notice.text,
            topic=notice.topic,
            area=notice.area,
            created_by=f"schedule:{notice.id}",
            key=occurrence_key(notice, self.timezone, occurrence),
            channels=tuple(self.senders),
        )
        if created is not None:
            log.info("planned notice %s (%s) became broadcast %s", notice_id, occurrence.isoformat(), created)
            self.wake()

    def _on_missed(self, job_id: str, scheduled: dt.datetime) -> None:
        asyncio.get_running_loop().create_task(self._record_missed(job_id, scheduled))

    async def _record_missed(self, job_id: str, scheduled: dt.datetime) -> None:
        sessions = self.services.sessions
        note = f"missed: due {scheduled.isoformat()}, beyond the {self.settings.schedule_grace_seconds}s grace period"
        text: str | None = None
        if job_id.startswith(BROADCAST_PREFIX):
            broadcast_id = int(job_id[len(BROADCAST_PREFIX) :])
            if await asyncio.to_thread(service.mark_missed, sessions=sessions, broadcast_id=broadcast_id, note=note):
                status = await asyncio.to_thread(service.broadcast_status, sessions=sessions, broadcast_id=broadcast_id)
                text = status.text if status else None
        elif job_id.startswith(PLANNED_PREFIX):
            notice = self._notice(job_id[len(PLANNED_PREFIX) :])
            if notice is not None:
                recorded = await asyncio.to_thread(
                    service.record_missed_occurrence,
                    sessions=sessions,
                    key=occurrence_key(notice, self.timezone, scheduled),
                    text=notice.text,
                    topic=notice.topic,
                    area=notice.area,
                    occurrence=scheduled,
                    note=note,
                )
                text = notice.text if recorded is not None else None
        if text is not None:
            log.warning("notice %s was missed (%s)", job_id, note)
            await self.notify_staff(self.views.missed(text, scheduled.astimezone(self.timezone)))

    # ----- staff reports -----------------------------------------------------------------------------------

    async def staff_chats(self) -> list[tuple[str, str]]:
        """(channel, chat id) of every staff member we can reach: admins and the staff table."""
        chats = [("telegram", str(i)) for i in sorted(self.settings.admin_telegram_ids)]
        listed = await asyncio.to_thread(service.list_staff, sessions=self.services.sessions)
        chats += [c for c in listed if c not in chats]
        return [c for c in chats if c[0] in self.senders]

    async def notify_staff(self, text: str) -> None:
        """Send ``text`` to every staff member (failures are logged, not raised)."""
        for channel, chat_id in await self.staff_chats():
            await self._send(channel, chat_id, Reply(text=text))

    async def _send(self, channel: str, chat_id: str, reply: Reply) -> str | None:
        sender = self.senders.get(channel)
        if sender is None:
            return None
        if isinstance(sender, OutboundGateway):  # staff wait for this: reply priority, retried on 429
            try:
                sent = await sender.send(chat_id, [reply], priority=REPLY)
            except DeliveryError as err:
                log.warning("could not send a broadcast report to %s %s: %s", channel, chat_id, err.reason)
                return None
            return sent[0].message_id if sent else None
        limiter = self.limiters[channel]
        assert isinstance(limiter, RateLimiter)
        wait = limiter.chat_wait(chat_id)
        if wait > 0:
            await asyncio.sleep(wait)
        await limiter.acquire()
        try:
            sent = await sender.send(chat_id, [reply])
        except DeliveryError as err:
            log.warning("could not send a broadcast report to %s %s: %s", channel, chat_id, err.reason)
            return None
        finally:
            limiter.sent_to(chat_id)
        return sent[0].message_id if sent else None

    async def _show_progress(self, status: BroadcastStatus, text: str) -> None:
        if status.report_channel is None or status.report_chat_id is None:
            return
        reply = Reply(text=text, edit_message_id=status.progress_message_id)
        message_id = await self._send(status.report_channel, status.report_chat_id, reply)
        if message_id is not None and message_id != status.progress_message_id:
            await asyncio.to_thread(
                service.set_progress_message,
                sessions=self.services.sessions,
                broadcast_id=status.id,
                message_id=message_id,
            )

    async def _progress_loop(self) -> None:
        shown: dict[int, str] = {}
        sessions = self.services.sessions
        while True:
            await asyncio.sleep(self.settings.broadcast_progress_interval)
            try:
                for broadcast_id in await asyncio.to_thread(service.sending_broadcast_ids, sessions=sessions):
                    async with self._report_lock:  # never overwrite a final report with older progress
                        status = await asyncio.to_thread(
                            service.broadcast_status, sessions=sessions, broadcast_id=broadcast_id
                        )
                        if status is None or status.status != SENDING:
                            continue
                        text = self.views.progress(status)
                        if shown.get(broadcast_id) != text:
                            shown[broadcast_id] = text
                            await self._show_progress(status, text)
            except Exception:
                log.exception("progress update failed")

    async def report_final(self, broadcast_id: int) -> None:
        """The broadcast is finished: turn the progress message into the final report and notify its sender."""
        async with self._report_lock:
            status = await asyncio.to_thread(
                service.broadcast_status, sessions=self.services.sessions, broadcast_id=broadcast_id
            )
            if status is None or status.report_channel is None or status.report_chat_id is None:
                return
            text = self.views.final(status)
            if status.progress_message_id is not None:
                await self._show_progress(status, text)
            await self._send(status.report_channel, status.report_chat_id, Reply(text=text))


async def start_broadcasting(
    services: Services,
    senders: Mapping[str, Sender],
    views: BroadcastViews,
    *,
    eligibility: Mapping[str, Eligibility] | None = None,
) -> BroadcastRuntime:
    """Start delivery workers, leader election and (on the leader) the scheduler; returns the runtime to stop."""
    runtime = BroadcastRuntime(services, senders, views, eligibility=eligibility)
    await runtime.start()
    return runtime
