"""Staff broadcasting: /thongbao (preview → topic/area → now or at a time → confirm), /lichthongbao, staff table.

Nothing is sent before the confirm button: the draft lives in the pending store of the staff member who wrote
it, and the confirm consumes it, so a second press cannot send twice. ``VIEWS`` tells the broadcast runtime
how notices, progress and reports look.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

from bot.broadcast.planned import AnnouncementConfig, announcement_config, planned_notices
from bot.broadcast.runtime import BroadcastViews
from bot.broadcast.service import BroadcastStatus
from bot.messages import Button, IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.subscriptions import notice_reply
from handlers.ui import button, text

PENDING_KIND = "notice_draft"
DRAFT_SECONDS = 1800.0
MAX_NOTICE = 3500
_BODY = re.compile(r"^/\w+(?:@\w+)?\s+(.+)$", re.S)
_TIME_FORMATS = ("%d/%m/%Y %H:%M", "%H:%M %d/%m/%Y", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M", "%d/%m/%y %H:%M")
MAX_LISTED = 10


async def is_staff(msg: IncomingMessage, services: Services) -> bool:
    """Staff: an id in ADMIN_TELEGRAM_IDS (set by the adapter) or a row in the staff table."""
    return msg.is_staff or await services.broadcasts.is_staff(channel=msg.channel, external_id=msg.user_id)


def _zone(services: Services) -> ZoneInfo:
    return ZoneInfo(services.settings.bot_timezone)


def _local(when: dt.datetime, services: Services) -> str:
    return when.astimezone(_zone(services)).strftime("%H:%M ngày %d/%m/%Y")


def _labels(draft: dict[str, str | None], config: AnnouncementConfig) -> tuple[str, str]:
    topic = config.topic(draft.get("topic"))
    area = config.area(draft.get("area"))
    return (topic.title if topic else texts.NOTICE_ALL_TOPICS, area.title if area else texts.NOTICE_WHOLE_WARD)


def _load(msg: IncomingMessage, services: Services) -> dict[str, str | None] | None:
    pending = services.pending.get((msg.channel, msg.user_id), services.clock(), PENDING_KIND)
    if pending is None:
        return None
    data: dict[str, str | None] = json.loads(pending.value)
    return data


def _save(msg: IncomingMessage, services: Services, draft: dict[str, str | None]) -> None:
    services.pending.set(
        (msg.channel, msg.user_id), PENDING_KIND, json.dumps(draft), now=services.clock(), ttl=DRAFT_SECONDS
    )


async def _panel(draft: dict[str, str | None], services: Services, edit: str | None) -> list[Reply]:
    config = announcement_config(services.knowledge.config)
    count = await services.broadcasts.count_recipients(topic=draft.get("topic"), area=draft.get("area"))
    topic_label, area_label = _labels(draft, config)
    rows: list[list[Button | None]] = []
    topics = [(None, texts.NOTICE_ALL_TOPICS)] + [(t.id, t.title) for t in config.topics]
    marks = [
        button(("✅ " if draft.get("topic") == tid else "") + title, f"tb:t:{tid or '*'}") for tid, title in topics
    ]
    rows.extend(marks[i : i + 2] for i in range(0, len(marks), 2))
    if config.areas:
        areas = [(None, texts.NOTICE_WHOLE_WARD)] + [(a.id, a.title) for a in config.areas]
        picks = [
            button(("📍 " if draft.get("area") == aid else "") + title, f"tb:a:{aid or '*'}") for aid, title in areas
        ]
        rows.extend(picks[i : i + 2] for i in range(0, len(picks), 2))
    rows.append([button(texts.BUTTON_SEND_NOW, "tb:now"), button(texts.BUTTON_SCHEDULE, "tb:later")])
    rows.append([button(texts.BUTTON_NOTICE_CANCEL, "tb:x")])
    body = texts.NOTICE_PANEL.format(topic=topic_label, area=area_label, count=count)
    return text(body, *rows, edit=edit)


async def start_notice(msg: IncomingMessage, services: Services) -> list[Reply]:
    """/thongbao <text>: show the notice exactly as citizens will see it, and the sending choices."""
    if not await is_staff(msg, services):
        return text(texts.STAFF_ONLY)
    match = _BODY.match((msg.text or "").strip())
    body = match.group(1).strip() if match else ""
    if not body:
        return text(texts.NOTICE_USAGE)
    if len(body) > MAX_NOTICE:
        return text(texts.NOTICE_TOO_LONG.format(length=len(body), limit=MAX_NOTICE))
    draft: dict[str, str | None] = {"text": body, "topic": None, "area": None, "stage": "panel", "when": None}
    _save(msg, services, draft)
    return [Reply(text=texts.NOTICE_PREVIEW_HEAD), notice_reply(body), *await _panel(draft, services, None)]


def _example(services: Services) -> str:
    soon = (services.clock() + dt.timedelta(days=1)).astimezone(_zone(services))
    return soon.replace(hour=8, minute=0).strftime("%d/%m/%Y %H:%M")


def parse_time(value: str, services: Services) -> dt.datetime | None:
    """A typed local date and time (``02/03/2026 08:00``) as aware UTC, or None."""
    cleaned = " ".join(value.replace("h", ":").replace("lúc", " ").replace("ngày", " ").split())
    for fmt in _TIME_FORMATS:
        try:
            local = dt.datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=_zone(services)).astimezone(dt.UTC)
    return None


async def typed_time(msg: IncomingMessage, services: Services, body: str) -> list[Reply] | None:
    """The date and time typed after «Hẹn giờ»; None when no draft is waiting for one."""
    draft = _load(msg, services)
    if draft is None or draft.get("stage") != "time":
        return None
    when = parse_time(body, services)
    if when is None:
        return text(texts.NOTICE_BAD_TIME.format(example=_example(services)))
    if when <= services.clock():
        return text(texts.NOTICE_PAST_TIME)
    draft.update(stage="confirm_later", when=when.isoformat())
    _save(msg, services, draft)
    topic, area = _labels(draft, announcement_config(services.knowledge.config))
    return text(
        texts.NOTICE_CONFIRM_LATER.format(when=_local(when, services), topic=topic, area=area),
        [button(texts.BUTTON_CONFIRM_SCHEDULE, "tb:go")],
        [button(texts.BUTTON_BACK_TO_PANEL, "tb:back"), button(texts.BUTTON_NOTICE_CANCEL, "tb:x")],
    )


async def notice_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Every ``tb:`` button of the /thongbao flow and of /lichthongbao."""
    if not await is_staff(msg, services):
        return text(texts.STAFF_ONLY)
    parts = (msg.button_data or "").split(":", 2)
    action = parts[1] if len(parts) > 1 else ""
    if action == "c" and len(parts) == 3 and parts[2].isdigit():
        return await cancel_scheduled(msg, services, int(parts[2]))
    draft = _load(msg, services)
    if draft is None:
        return text(texts.NOTICE_EXPIRED)
    key = (msg.channel, msg.user_id)
    config = announcement_config(services.knowledge.config)
    value = parts[2] if len(parts) > 2 else ""
    if action == "x":
        services.pending.clear(key, PENDING_KIND)
        return text(texts.NOTICE_CANCELLED, edit=msg.message_id)
    if action == "t" and (value == "*" or config.topic(value)):
        draft["topic"] = None if value == "*" else value
    elif action == "a" and (value == "*" or config.area(value)):
        draft["area"] = None if value == "*" else value
    elif action == "back":
        draft["stage"] = "panel"
    elif action == "now":
        draft["stage"] = "confirm_now"
        _save(msg, services, draft)
        count = await services.broadcasts.count_recipients(topic=draft.get("topic"), area=draft.get("area"))
        topic, area = _labels(draft, config)
        return text(
            texts.NOTICE_CONFIRM_NOW.format(count=count, topic=topic, area=area),
            [button(texts.BUTTON_CONFIRM_SEND, "tb:go")],
            [button(texts.BUTTON_BACK_TO_PANEL, "tb:back"), button(texts.BUTTON_NOTICE_CANCEL, "tb:x")],
            edit=msg.message_id,
        )
    elif action == "later":
        draft["stage"] = "time"
        _save(msg, services, draft)
        return text(
            texts.NOTICE_ASK_TIME.format(example=_example(services)),
            [button(texts.BUTTON_BACK_TO_PANEL, "tb:back"), button(texts.BUTTON_NOTICE_CANCEL, "tb:x")],
            edit=msg.message_id,
        )
    elif action == "go" and draft.get("stage") in ("confirm_now", "confirm_later"):
        services.pending.clear(key, PENDING_KIND)  # consumed: a second press finds no draft
        return await _confirm(msg, services, draft)
    else:
        return text(texts.NOTICE_EXPIRED)
    _save(msg, services, draft)
    return await _panel(draft, services, msg.message_id)


async def _confirm(msg: IncomingMessage, services: Services, draft: dict[str, str | None]) -> list[Reply]:
    when = dt.datetime.fromisoformat(draft["when"]) if draft.get("stage") == "confirm_later" and draft["when"] else None
    broadcast_id = await services.broadcasts.create(
        text=draft["text"] or "",
        topic=draft.get("topic"),
        area=draft.get("area"),
        scheduled_at=when,
        created_by=f"{msg.channel}:{msg.user_id}",
        report_channel=msg.channel,
        report_chat_id=msg.chat_id,
        progress_message_id=msg.message_id if when is None else None,
    )
    if when is not None:
        return text(texts.NOTICE_SCHEDULED.format(id=broadcast_id, when=_local(when, services)), edit=msg.message_id)
    status = await services.broadcasts.status(broadcast_id)
    total = status.total if status else 0
    return text(texts.NOTICE_STARTED.format(id=broadcast_id, count=total), edit=msg.message_id)


def _preview(body: str, limit: int = 60) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def list_scheduled(msg: IncomingMessage, services: Services) -> list[Reply]:
    """/lichthongbao: scheduled and running broadcasts (with cancel buttons) and the planned notices."""
    if not await is_staff(msg, services):
        return text(texts.STAFF_ONLY)
    config = announcement_config(services.knowledge.config)
    items = (await services.broadcasts.upcoming())[:MAX_LISTED]
    planned = [n for n in planned_notices(services.knowledge.config) if n.active]
    if not items and not planned:
        return text(texts.SCHEDULE_EMPTY)
    lines: list[str] = []
    rows: list[list[Button | None]] = []
    if items:
        lines.append(texts.SCHEDULE_HEAD)
        for item in items:
            topic, _ = _labels({"topic": item.topic, "area": item.area}, config)
            if item.status == "scheduled" and item.scheduled_at is not None:
                when = _local(item.scheduled_at, services)
                lines.append(
                    texts.SCHEDULE_ITEM_SCHEDULED.format(
                        id=item.id, when=when, topic=topic, preview=_preview(item.text)
                    )
                )
            else:
                lines.append(
                    texts.SCHEDULE_ITEM_SENDING.format(
                        id=item.id, sent=item.sent, total=item.total, preview=_preview(item.text)
                    )
                )
            rows.append([button(texts.BUTTON_CANCEL_BROADCAST.format(id=item.id), f"tb:c:{item.id}")])
    if planned:
        lines.append(texts.SCHEDULE_PLANNED_HEAD)
        for notice in planned:
            when = notice.cron if notice.cron else notice.at.strftime("%H:%M %d/%m/%Y") if notice.at else ""
            lines.append(texts.SCHEDULE_PLANNED_ITEM.format(id=notice.id, when=when, preview=_preview(notice.text)))
    return text("\n".join(lines), *rows)


async def cancel_scheduled(msg: IncomingMessage, services: Services, broadcast_id: int) -> list[Reply]:
    """Cancel one scheduled or running broadcast."""
    if await services.broadcasts.cancel(broadcast_id):
        return text(texts.BROADCAST_CANCELLED.format(id=broadcast_id))
    return text(texts.BROADCAST_NOT_CANCELLABLE.format(id=broadcast_id))


def _argument(msg: IncomingMessage) -> str | None:
    match = _BODY.match((msg.text or "").strip())
    value = match.group(1).strip() if match else ""
    return value if value.isdigit() else None


async def add_staff(msg: IncomingMessage, services: Services) -> list[Reply]:
    """/themcanbo <id>: let someone broadcast."""
    if not await is_staff(msg, services):
        return text(texts.STAFF_ONLY)
    staff_id = _argument(msg)
    if staff_id is None:
        return text(texts.STAFF_USAGE)
    added = await services.broadcasts.add_staff(
        channel=msg.channel, external_id=staff_id, added_by=f"{msg.channel}:{msg.user_id}"
    )
    return text((texts.STAFF_ADDED if added else texts.STAFF_ALREADY).format(id=staff_id))


async def remove_staff(msg: IncomingMessage, services: Services) -> list[Reply]:
    """/xoacanbo <id>: take someone off the staff table."""
    if not await is_staff(msg, services):
        return text(texts.STAFF_ONLY)
    staff_id = _argument(msg)
    if staff_id is None:
        return text(texts.STAFF_USAGE)
    removed = await services.broadcasts.remove_staff(channel=msg.channel, external_id=staff_id)
    return text((texts.STAFF_REMOVED if removed else texts.STAFF_NOT_FOUND).format(id=staff_id))


async def list_staff(msg: IncomingMessage, services: Services) -> list[Reply]:
    """/canbo: who is in the staff table."""
    if not await is_staff(msg, services):
        return text(texts.STAFF_ONLY)
    members = await services.broadcasts.list_staff()
    items = "\n".join(f"- {channel}: {external_id}" for channel, external_id in members) or texts.STAFF_LIST_EMPTY
    return text(texts.STAFF_LIST.format(items=items))


# --- how the runtime shows notices and reports ------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return texts.NOTICE_ETA_UNKNOWN
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    return f"{minutes} phút {secs} giây" if minutes else f"{secs} giây"


def progress_text(status: BroadcastStatus) -> str:
    """The live progress message."""
    return texts.NOTICE_PROGRESS.format(
        id=status.id,
        sent=status.sent,
        total=status.total,
        failed=status.failed,
        blocked=status.blocked,
        remaining=status.remaining,
        eta=_duration(status.eta_seconds),
    )


def final_text(status: BroadcastStatus) -> str:
    """The final report."""
    if status.status == "cancelled":
        return texts.NOTICE_FINAL_CANCELLED.format(id=status.id, sent=status.sent, total=status.total)
    elapsed = None
    if status.started_at is not None and status.finished_at is not None:
        elapsed = (status.finished_at - status.started_at).total_seconds()
    report = texts.NOTICE_FINAL.format(
        id=status.id,
        sent=status.sent,
        total=status.total,
        failed=status.failed,
        blocked=status.blocked,
        skipped=status.skipped,
        duration=_duration(elapsed),
    )
    reasons = [
        texts.NOTICE_SKIP_REASON.format(count=count, reason=reason or texts.NOTICE_SKIP_NO_REASON)
        for reason, count in sorted(status.skip_reasons.items(), key=lambda item: -item[1])
    ]
    return "\n".join([report, *reasons])


def missed_text(body: str, when: dt.datetime) -> str:
    """The warning to staff about a notice whose time passed while the bot was down."""
    return texts.NOTICE_MISSED.format(when=when.strftime("%H:%M ngày %d/%m/%Y"), text=body)


VIEWS = BroadcastViews(notice=notice_reply, progress=progress_text, final=final_text, missed=missed_text)
