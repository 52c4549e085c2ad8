"""Staff-only ``/thongke``: usage of the last days and the questions the bot most often could not answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from zoneinfo import ZoneInfo

from bot import reports as report_service
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import text

DEFAULT_DAYS = 7
MAX_DAYS = 365
PER_DAY_MAX_DAYS = 14  # longer windows would make the per-day line unreadable in chat
MAX_QUOTE = 120
CLOSEST_MIN_SCORE = 0.5  # below this the "closest entry" is a guess that would mislead in a short summary

_ARGUMENT = re.compile(r"^\S+\s*(.*)$", re.DOTALL)
_MARKUP = str.maketrans({c: " " for c in "*_[]`"})


def window_days(body: str | None) -> int | None:
    """The number of days asked for in ``/thongke [days]`` (default 7), or None when it is not usable."""
    body = (body or "").strip()
    if not body.startswith("/"):  # a command word on channels without slash commands: no argument
        return DEFAULT_DAYS
    match = _ARGUMENT.match(body)
    argument = match.group(1).strip().lower().removesuffix("d") if match else ""
    if not argument:
        return DEFAULT_DAYS
    if not (argument.isascii() and argument.isdigit()) or not 1 <= int(argument) <= MAX_DAYS:  # not "²"
        return None
    return int(argument)


def _quote(value: str) -> str:
    """A citizen's question as plain text on one line (no Markdown from them), cut to a readable length."""
    plain = " ".join(value.translate(_MARKUP).split())
    return plain if len(plain) <= MAX_QUOTE else plain[: MAX_QUOTE - 1].rstrip() + "…"


async def usage(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Show staff the usage summary of the last N days (default 7)."""
    if not msg.is_staff:
        return text(texts.STAFF_ONLY)
    days = window_days(msg.text)
    if days is None:
        return text(texts.STATS_USAGE.format(max_days=MAX_DAYS))
    now = services.clock()
    summary = await asyncio.to_thread(
        report_service.staff_summary,
        sessionmaker=services.sessions,
        index=services.knowledge.index,
        since=now - dt.timedelta(days=days),
        until=now,
        timezone=services.settings.bot_timezone,
    )
    return text(render_summary(summary, services, days=days))


def render_summary(summary: report_service.StaffSummary, services: Services, *, days: int) -> str:
    """The Vietnamese text of ``/thongke``."""
    zone = ZoneInfo(services.settings.bot_timezone)
    report = summary.usage
    parts = [texts.STATS_HEADER.format(days=days, until=report.until.astimezone(zone).strftime("%H:%M %d/%m/%Y"))]
    parts.append(
        texts.STATS_BODY.format(
            questions=report.questions,
            answered=report.answered,
            suggested=report.suggested,
            declined=report.declined,
            rate=f"{report.answer_rate:.0%}",
            askers=report.askers,
            new_users=report.new_users,
            helpful=report.helpful,
            unhelpful=report.unhelpful,
            subscribers=report.active_subscribers,
        )
    )
    if not report.questions:
        parts.append(texts.STATS_NO_QUESTIONS)
        return "\n\n".join(parts)
    if days <= PER_DAY_MAX_DAYS:
        per_day = " · ".join(f"{d.day:%d/%m}: {d.questions}" for d in report.per_day)
        parts.append(texts.STATS_PER_DAY.format(days=per_day))
    if report.top_entries:
        lines = [texts.STATS_TOP_ENTRIES]
        for n, (entry_id, count) in enumerate(report.top_entries[:5], 1):
            entry = services.knowledge.kb.entry(entry_id)
            lines.append(texts.STATS_TOP_ENTRY.format(n=n, question=entry.question if entry else entry_id, count=count))
        parts.append("\n".join(lines))
    if summary.unanswered:
        lines = [texts.STATS_UNANSWERED]
        for n, group in enumerate(summary.unanswered, 1):
            lines.append(texts.STATS_UNANSWERED_ITEM.format(n=n, text=_quote(group.representative), count=group.count))
            if group.closest is not None and group.closest.score >= CLOSEST_MIN_SCORE:
                lines.append(texts.STATS_UNANSWERED_CLOSEST.format(question=group.closest.question))
        lines.append(texts.STATS_HINT.format(days=days))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
