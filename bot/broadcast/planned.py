"""Readers for the staff-edited announcement files, validated with ``file:line`` problems like the knowledge base.

``_announcements.yaml`` lists the topics and areas citizens choose from in ``/dangky``; ``_schedule.yaml``
declares planned notices (a one-off ``at`` time or a ``cron`` expression, in ``BOT_TIMEZONE``, with an
optional active window). Both are registered with the knowledge loader, so ``kb check``, start-up and
``/reload`` validate them; the parsed values land in ``KnowledgeStore.config``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from bot.kb.loader import ConfigContext, register_config_file
from bot.kb.problems import Problem
from bot.kb.yaml_lines import LineDict, LineList

ANNOUNCEMENTS = "_announcements"
SCHEDULE = "_schedule"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NOTICE_CHARS = 3500
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M")


@dataclass(frozen=True)
class Choice:
    """A topic or an area citizens can choose."""

    id: str
    title: str
    default: bool = True


@dataclass(frozen=True)
class AnnouncementConfig:
    """The topics and areas of ``_announcements.yaml`` (or the built-in defaults)."""

    topics: tuple[Choice, ...]
    areas: tuple[Choice, ...] = ()

    def topic(self, topic_id: str | None) -> Choice | None:
        """The topic with this id, or None."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def area(self, area_id: str | None) -> Choice | None:
        """The area with this id, or None."""
        return next((a for a in self.areas if a.id == area_id), None)


DEFAULT_ANNOUNCEMENTS = AnnouncementConfig(
    topics=(
        Choice("chung", "Thông báo chung"),
        Choice("lua-dao", "Cảnh báo lừa đảo"),
        Choice("dich-vu-cong", "Dịch vụ công trực tuyến"),
    )
)


@dataclass(frozen=True)
class PlannedNotice:
    """One notice declared in ``_schedule.yaml``; times are naive wall-clock times in ``BOT_TIMEZONE``."""

    id: str
    text: str
    topic: str | None
    area: str | None
    at: dt.datetime | None
    cron: str | None
    active: bool
    active_from: dt.date | None
    active_until: dt.date | None
    file: str
    line: int


def announcement_config(config: dict[str, object]) -> AnnouncementConfig:
    """The announcement topics and areas from ``KnowledgeStore.config`` (defaults when the file is absent)."""
    value = config.get(ANNOUNCEMENTS)
    return value if isinstance(value, AnnouncementConfig) else DEFAULT_ANNOUNCEMENTS


def planned_notices(config: dict[str, object]) -> tuple[PlannedNotice, ...]:
    """The planned notices from ``KnowledgeStore.config`` (none when the file is absent)."""
    value = config.get(SCHEDULE)
    if isinstance(value, tuple) and all(isinstance(v, PlannedNotice) for v in value):
        return value
    return ()


def _keys(data: LineDict, allowed: set[str], display: str, problems: list[Problem]) -> None:
    for key, line in data.duplicates:
        problems.append(Problem(display, line, f'khóa "{key}" bị lặp lại [duplicate key]'))
    for key in data:
        if key not in allowed:
            problems.append(
                Problem(
                    display,
                    data.key_lines[key],
                    f'khóa "{key}" không được phép; chỉ dùng: {", ".join(sorted(allowed))} [unknown key]',
                )
            )


def _str(data: LineDict, key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip() or None


def _choices(data: LineDict, key: str, display: str, problems: list[Problem]) -> tuple[Choice, ...]:
    raw = data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        problems.append(Problem(display, data.key_lines[key], f'"{key}" phải là một danh sách [must be a list]'))
        return ()
    out: list[Choice] = []
    for item, line in zip(raw, raw.item_lines, strict=True):
        if not isinstance(item, LineDict):
            problems.append(Problem(display, line, "mỗi mục gồm id và title [each item needs id and title]"))
            continue
        _keys(item, {"id", "title", "default"}, display, problems)
        slug, title = _str(item, "id"), _str(item, "title")
        if slug is None or not SLUG.match(slug):
            problems.append(
                Problem(display, item.key_lines.get("id", line), 'thiếu "id" dạng chu-thuong-khong-dau [bad id]')
            )
            continue
        if slug in {c.id for c in out}:
            problems.append(Problem(display, item.key_lines.get("id", line), f'id "{slug}" bị trùng [duplicate id]'))
            continue
        if title is None:
            problems.append(Problem(display, item.key_lines.get("title", line), 'thiếu "title" [missing title]'))
            continue
        default = item.get("default", True)
        if not isinstance(default, bool):
            problems.append(Problem(display, item.key_lines["default"], '"default" là true hoặc false'))
            default = True
        out.append(Choice(slug, title, default))
    return tuple(out)


def read_announcements(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    """Validate ``_announcements.yaml`` and store an :class:`AnnouncementConfig` in ``ctx.extra``."""
    problems: list[Problem] = []
    _keys(data, {"topics", "areas"}, display, problems)
    topics = _choices(data, "topics", display, problems)
    areas = _choices(data, "areas", display, problems)
    if not topics and "topics" in data:
        problems.append(Problem(display, data.key_lines["topics"], "cần ít nhất một chủ đề [no topics]"))
    ctx.extra[ANNOUNCEMENTS] = AnnouncementConfig(topics or DEFAULT_ANNOUNCEMENTS.topics, areas)
    return problems


def parse_local_datetime(value: Any) -> dt.datetime | None:
    """A naive wall-clock datetime from YAML (a datetime, or text like ``2026-04-01 08:00``), or None."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    if isinstance(value, str):
        for fmt in _DATETIME_FORMATS:
            try:
                return dt.datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    return None


def _date(value: Any) -> dt.date | bool | None:
    """A date, None when absent, False when invalid."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return False
    return False


def read_schedule(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    """Validate ``_schedule.yaml`` and store a tuple of :class:`PlannedNotice` in ``ctx.extra``."""
    problems: list[Problem] = []
    _keys(data, {"notices"}, display, problems)
    announcements = ctx.extra.get(ANNOUNCEMENTS, DEFAULT_ANNOUNCEMENTS)
    raw = data.get("notices") or LineList()
    if not isinstance(raw, LineList):
        problems.append(Problem(display, data.key_lines["notices"], '"notices" phải là một danh sách'))
        raw = LineList()
    notices: list[PlannedNotice] = []
    for item, line in zip(raw, raw.item_lines, strict=True):
        if not isinstance(item, LineDict):
            problems.append(Problem(display, line, "mỗi thông báo là một nhóm khóa: giá trị [must be a mapping]"))
            continue
        notice = _read_notice(item, line, display, announcements, {n.id for n in notices}, problems)
        if notice is not None:
            notices.append(notice)
    ctx.extra[SCHEDULE] = tuple(notices)
    return problems


def _read_notice(
    item: LineDict,
    line: int,
    display: str,
    announcements: AnnouncementConfig,
    seen: set[str],
    problems: list[Problem],
) -> PlannedNotice | None:
    before = len(problems)
    allowed = {"id", "text", "topic", "area", "at", "cron", "active", "active_from", "active_until"}
    _keys(item, allowed, display, problems)

    def at_line(key: str) -> int:
        return item.key_lines.get(key, line)

    slug = _str(item, "id")
    if slug is None or not SLUG.match(slug):
        problems.append(Problem(display, at_line("id"), 'thiếu "id" dạng chu-thuong-khong-dau [bad id]'))
    elif slug in seen:
        problems.append(Problem(display, at_line("id"), f'id "{slug}" bị trùng [duplicate id]'))
    text = _str(item, "text")
    if text is None:
        problems.append(Problem(display, at_line("text"), 'thiếu nội dung "text" [missing text]'))
    elif len(text) > MAX_NOTICE_CHARS:
        problems.append(Problem(display, at_line("text"), f"nội dung dài quá {MAX_NOTICE_CHARS} ký tự [too long]"))
    topic, area = _str(item, "topic"), _str(item, "area")
    if topic is not None and announcements.topic(topic) is None:
        known = ", ".join(t.id for t in announcements.topics)
        problems.append(Problem(display, at_line("topic"), f'chủ đề "{topic}" chưa khai báo; có: {known}'))
    if area is not None and announcements.area(area) is None:
        known = ", ".join(a.id for a in announcements.areas) or "(chưa có khu vực nào)"
        problems.append(Problem(display, at_line("area"), f'khu vực "{area}" chưa khai báo; có: {known}'))
    at = parse_local_datetime(item.get("at")) if "at" in item else None
    if "at" in item and at is None:
        problems.append(Problem(display, at_line("at"), '"at" phải có dạng 2026-04-01 08:00 [bad time]'))
    cron = _str(item, "cron")
    if cron is not None:
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            problems.append(Problem(display, at_line("cron"), f'biểu thức "cron" không hợp lệ: {exc} [bad cron]'))
    if ("at" in item) == ("cron" in item):
        problems.append(Problem(display, line, 'mỗi thông báo cần đúng một trong "at" hoặc "cron" [need at or cron]'))
    active = item.get("active", True)
    if not isinstance(active, bool):
        problems.append(Problem(display, at_line("active"), '"active" là true hoặc false'))
    window: list[dt.date | None] = []
    for key in ("active_from", "active_until"):
        value = _date(item.get(key))
        if value is False:
            problems.append(Problem(display, at_line(key), f'"{key}" phải là ngày dạng 2026-03-01 [bad date]'))
            value = None
        window.append(value if isinstance(value, dt.date) else None)
    if window[0] and window[1] and window[0] > window[1]:
        problems.append(Problem(display, at_line("active_until"), "active_until đứng trước active_from"))
    if len(problems) > before or slug is None or text is None:
        return None
    return PlannedNotice(
        id=slug,
        text=text,
        topic=topic,
        area=area,
        at=at,
        cron=cron,
        active=bool(active),
        active_from=window[0],
        active_until=window[1],
        file=display,
        line=line,
    )


register_config_file(ANNOUNCEMENTS, read_announcements)
register_config_file(SCHEDULE, read_schedule)
