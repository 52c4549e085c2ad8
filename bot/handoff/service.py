"""The hand-off service handlers use: tickets and reports off the event loop, office hours, and the way out.

Handlers reach a person who is not the sender (the staff group; a citizen when staff answer) through the
``outbox``: ``await outbox(channel, chat_id, replies)``. The composition root sets it to the running channels'
gateways, and sets ``staff_chat`` to the staff group's ``(channel, chat id)``; without a staff group the
hand-off is unavailable and citizens get the ward's contacts instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.handoff import store
from bot.handoff.hours import OfficeHours, OfficeHoursError
from bot.handoff.store import Report, Ticket
from bot.messages import DeliveryError, Reply, SentMessage

log = logging.getLogger(__name__)

T = TypeVar("T")
Outbox = Callable[[str, str, Sequence[Reply]], Awaitable[list[SentMessage]]]


async def _no_outbox(channel: str, chat_id: str, replies: Sequence[Reply]) -> list[SentMessage]:
    raise DeliveryError(f"no running channel {channel!r}")


class HandoffService:
    """Hand-offs and reports for the handlers; every database call runs in a worker thread."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        *,
        office_hours: str = "",
        timezone: str = "Asia/Ho_Chi_Minh",
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.timezone = ZoneInfo(timezone)
        try:
            self.hours = OfficeHours.parse(office_hours)
        except OfficeHoursError as err:
            log.error("OFFICE_HOURS cannot be read (%s); staff are taken to answer at any time", err)
            self.hours = OfficeHours({})
        self.staff_chat: tuple[str, str] | None = None
        self.outbox: Outbox = _no_outbox

    @property
    def available(self) -> bool:
        """Whether questions and reports can reach staff (a staff group is configured and its channel runs)."""
        return self.staff_chat is not None

    async def _run(self, fn: Callable[..., T], **kwargs: Any) -> T:
        return await asyncio.to_thread(partial(fn, sessions=self._sessions, **kwargs))

    def local_now(self) -> dt.datetime:
        """The current local time of the ward."""
        return self._clock().astimezone(self.timezone)

    def next_open(self) -> dt.datetime | None:
        """None while staff are at work, else when they next are (local time)."""
        now = self.local_now()
        return None if self.hours.is_open(now) else self.hours.next_open(now)

    async def to_staff(self, replies: Sequence[Reply]) -> str | None:
        """Post ``replies`` in the staff group; the id of the last message posted, or None when it failed."""
        if self.staff_chat is None:
            return None
        try:
            sent = await self.outbox(self.staff_chat[0], self.staff_chat[1], replies)
        except DeliveryError as err:
            log.warning("could not post to the staff group: %s", err.reason)
            return None
        ids = [s.message_id for s in sent if s.message_id is not None]
        return ids[-1] if ids else None

    async def to_citizen(self, channel: str, chat_id: str, replies: Sequence[Reply]) -> str | None:
        """Deliver ``replies`` to a citizen on their channel; None when delivered, else the reason it failed."""
        try:
            await self.outbox(channel, chat_id, replies)
        except DeliveryError as err:
            log.warning("could not deliver a staff message to a %s citizen: %s", channel, err.reason)
            return err.reason
        return None

    # ----- tickets ---------------------------------------------------------------------------------------

    async def recent_questions(self, channel: str, external_id: str) -> list[str]:
        """The citizen's last few logged questions, oldest first."""
        return await self._run(store.recent_questions, channel=channel, external_id=external_id)

    async def create_ticket(self, channel: str, external_id: str, chat_id: str, question: str, context: str) -> Ticket:
        """Record a question for staff."""
        return await self._run(store.create_ticket, channel=channel, external_id=external_id, chat_id=chat_id,
                               question=question, context=context, now=self._clock())

    async def set_ticket_message(self, ticket_id: int, message_id: str) -> None:
        """Remember the staff-group message showing the ticket."""
        await self._run(store.set_ticket_message, ticket_id=ticket_id, message_id=message_id)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        """One ticket."""
        return await self._run(store.get_ticket, ticket_id=ticket_id)

    async def ticket_for_message(self, message_id: str) -> Ticket | None:
        """The ticket a staff-group message shows."""
        return await self._run(store.ticket_for_message, message_id=message_id)

    async def claim(self, ticket_id: int, staff_id: str, staff_name: str | None) -> tuple[bool, Ticket | None]:
        """Claim a ticket (first one wins)."""
        return await self._run(store.claim_ticket, ticket_id=ticket_id, staff_id=staff_id, staff_name=staff_name,
                               now=self._clock())

    async def answer(self, ticket_id: int, staff_id: str, answer: str) -> bool:
        """Record the answer of the staff member holding the ticket."""
        return await self._run(store.answer_ticket, ticket_id=ticket_id, staff_id=staff_id, answer=answer,
                               now=self._clock())

    async def open_tickets(self) -> list[Ticket]:
        """Tickets not answered yet, oldest first."""
        return await self._run(store.open_tickets)

    async def take_due_reminders(self, wait: dt.timedelta) -> list[Ticket]:
        """Unclaimed tickets older than ``wait`` not reminded yet (each returned once across instances)."""
        return await self._run(store.take_due_reminders, older_than=self._clock() - wait)

    # ----- reports ---------------------------------------------------------------------------------------

    async def create_report(self, channel: str, external_id: str, chat_id: str, **fields: Any) -> Report:
        """File a report with the next tracking code of the local year."""
        return await self._run(store.create_report, channel=channel, external_id=external_id, chat_id=chat_id,
                               now=self._clock(), year=self.local_now().year, **fields)

    async def set_report_message(self, report_id: int, message_id: str) -> None:
        """Remember the staff-group message showing the report."""
        await self._run(store.set_report_message, report_id=report_id, message_id=message_id)

    async def report(self, report_id: int) -> Report | None:
        """One report."""
        return await self._run(store.get_report, report_id=report_id)

    async def report_for_message(self, message_id: str) -> Report | None:
        """The report a staff-group message shows."""
        return await self._run(store.report_for_message, message_id=message_id)

    async def report_for_author(self, code: str, channel: str, external_id: str) -> Report | None:
        """The report ``code`` if the asker filed it."""
        return await self._run(store.report_for_author, code=code, channel=channel, external_id=external_id)

    async def assign(self, report_id: int, staff_id: str, staff_name: str | None) -> tuple[bool, Report | None]:
        """Assign a report to the first staff member who takes it."""
        return await self._run(store.assign_report, report_id=report_id, staff_id=staff_id, staff_name=staff_name,
                               now=self._clock())

    async def reply_report(self, report_id: int, staff_id: str, staff_name: str | None, reply: str) -> Report | None:
        """Record staff's reply to a report."""
        return await self._run(store.reply_report, report_id=report_id, staff_id=staff_id, staff_name=staff_name,
                               reply=reply, now=self._clock())

    async def close(self, report_id: int) -> Report | None:
        """Close a report (once)."""
        return await self._run(store.close_report, report_id=report_id, now=self._clock())

    async def open_reports(self) -> list[Report]:
        """Reports not closed yet."""
        return await self._run(store.open_reports)
