"""``broadcast send|schedule|list|cancel|status``: announcements from the shell.

``send`` creates the broadcast and follows its progress while the running bot delivers it (``--deliver``
delivers from this process instead, e.g. when the bot is not running). Times are local (``BOT_TIMEZONE``).
A topic or area must be one of ``_announcements.yaml`` (or the built-in topics): anything else is refused with
the valid list, so a typo never reaches "subscribers of nothing in particular". Messages are in Vietnamese, for
ward staff.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from bot.broadcast import service
from bot.broadcast.models import SCHEDULED, SENDING
from bot.broadcast.planned import announcement_config, parse_local_datetime
from bot.broadcast.service import BroadcastStatus
from bot.sanitize import from_shell
from bot.settings import Settings

FINAL = {"done", "cancelled", "missed"}


def _sessions(settings: Settings) -> Any:
    from bot.storage.db import create_engine_for, make_sessionmaker
    from bot.storage.migrate import upgrade

    upgrade(settings.database_url)
    return make_sessionmaker(create_engine_for(settings.database_url))


def _channels(settings: Settings) -> tuple[str, ...]:
    """The channels a notice goes to: every configured one (Telegram alone when none is)."""
    from bot.channels.registry import configured_channels

    return tuple(spec.name for spec in configured_channels(settings)) or service.DEFAULT_CHANNELS


def _text(words: list[str]) -> str:
    if words == ["-"]:
        return from_shell(sys.stdin.read()).strip()
    return from_shell(" ".join(words)).strip()


def status_line(status: BroadcastStatus, timezone: ZoneInfo) -> str:
    """One line per broadcast for the shell."""
    eta = status.eta_seconds
    when = status.scheduled_at.astimezone(timezone).strftime("%Y-%m-%d %H:%M") if status.scheduled_at else "-"
    preview = " ".join(status.text.split())[:50]
    return (
        f"#{status.id:<5} {status.status:<9} at={when:<16} total={status.total:<6} sent={status.sent:<6} "
        f"failed={status.failed:<4} blocked={status.blocked:<4} remaining={status.remaining:<6} "
        f"rate={status.rate:6.1f}/s eta={'-' if eta is None else f'{eta:.0f}s':<6} {preview}"
    )


def follow(sessions: Any, broadcast_id: int, timezone: ZoneInfo, interval: float = 2.0) -> int:
    """Print the status every ``interval`` seconds until the broadcast is finished."""
    try:
        while True:
            status = service.broadcast_status(sessions=sessions, broadcast_id=broadcast_id)
            if status is None:
                print(f"Không có thông báo #{broadcast_id}.", file=sys.stderr)
                return 1
            print(status_line(status, timezone), flush=True)
            if status.status in FINAL:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        print("Đã dừng theo dõi; bot vẫn tiếp tục gửi thông báo.", file=sys.stderr)
        return 0


async def _deliver(settings: Settings, broadcast_id: int) -> int:
    """Deliver from this process through every configured channel's gateway until the broadcast is finished.

    Channels are built through the registry but not started (no polling, no webhook): only their outbound
    side is opened, so a running bot keeps receiving its updates.
    """
    from bot.app import routing
    from bot.broadcast.runtime import BroadcastRuntime
    from bot.channel import ChannelHost
    from bot.channels.registry import configured_channels
    from bot.services import build_services
    from handlers.broadcast_staff import VIEWS

    specs = configured_channels(settings)
    if not specs:
        print(
            "--deliver cần một kênh đã cấu hình (TELEGRAM_BOT_TOKEN, hoặc ZALO_APP_ID kèm mã truy cập…).",
            file=sys.stderr,
        )
        return 2
    services = build_services(settings)

    async def alert_staff(text: str) -> None:
        print(text, file=sys.stderr)

    host = ChannelHost(services=services, handle=routing(services), alert_staff=alert_staff)
    channels = [spec.build(settings, host) for spec in specs]
    timezone = ZoneInfo(settings.bot_timezone)
    opened = []
    runtime = None
    try:
        for channel in channels:
            opener = getattr(channel, "open_outbound", None)
            if opener is not None:
                await opener()
            opened.append(channel)
        runtime = BroadcastRuntime(
            services,
            {c.name: c.gateway for c in channels},
            VIEWS,
            eligibility={c.name: c.eligibility for c in channels},
            run_scheduler=False,
        )
        await runtime.start()
        while True:
            status = await asyncio.to_thread(
                service.broadcast_status, sessions=services.sessions, broadcast_id=broadcast_id
            )
            if status is None or status.status in FINAL or status.status == SCHEDULED:
                if status is not None:
                    print(status_line(status, timezone), flush=True)
                return 0 if status is not None else 1
            print(status_line(status, timezone), flush=True)
            await asyncio.sleep(2.0)
    finally:
        if runtime is not None:
            await runtime.stop()
        for channel in opened:
            closer = getattr(channel, "close_outbound", None)
            if closer is not None:
                await closer()
        services.close()


def _known_audience(args: argparse.Namespace, settings: Settings) -> bool:
    """True when ``--topic``/``--area`` are ones citizens can choose; otherwise say which are valid."""
    if args.topic is None and args.area is None:
        return True
    from bot.kb.loader import load_knowledge

    choices = announcement_config(load_knowledge(settings.knowledge_dir).config.extra)
    ok = True
    if args.topic is not None and choices.topic(args.topic) is None:
        ok = False
        print(f"Chủ đề không có: {args.topic!r}. Các chủ đề hợp lệ:", file=sys.stderr)
        for topic in choices.topics:
            print(f"  {topic.id}  ({topic.title})", file=sys.stderr)
    if args.area is not None and choices.area(args.area) is None:
        ok = False
        if choices.areas:
            print(f"Khu vực không có: {args.area!r}. Các khu vực hợp lệ:", file=sys.stderr)
            for area in choices.areas:
                print(f"  {area.id}  ({area.title})", file=sys.stderr)
        else:
            print(
                f"Khu vực không có: {args.area!r}. Chưa khai báo khu vực nào trong _announcements.yaml.",
                file=sys.stderr,
            )
    return ok


def send(args: argparse.Namespace, settings: Settings) -> int:
    """Create a broadcast now and follow it."""
    body = _text(args.text)
    if not body:
        print("Nội dung thông báo đang trống.", file=sys.stderr)
        return 2
    if not _known_audience(args, settings):
        return 2
    sessions = _sessions(settings)
    broadcast_id = service.create_broadcast(
        sessions=sessions, text=body, topic=args.topic, area=args.area, created_by="cli", channels=_channels(settings)
    )
    assert broadcast_id is not None
    print(f"Đã tạo thông báo #{broadcast_id}.", flush=True)
    if args.deliver:
        return asyncio.run(_deliver(settings, broadcast_id))
    if args.no_wait:
        return 0
    return follow(sessions, broadcast_id, ZoneInfo(settings.bot_timezone))


def schedule(args: argparse.Namespace, settings: Settings) -> int:
    """Create a broadcast for a local date and time."""
    body = _text(args.text)
    local = parse_local_datetime(args.at)
    if not body or local is None:
        print('Cần nội dung thông báo và --at "YYYY-MM-DD HH:MM" (giờ địa phương).', file=sys.stderr)
        return 2
    if not _known_audience(args, settings):
        return 2
    timezone = ZoneInfo(settings.bot_timezone)
    when = local.replace(tzinfo=timezone).astimezone(dt.UTC)
    if when <= dt.datetime.now(dt.UTC):
        print("Thời điểm này đã qua.", file=sys.stderr)
        return 2
    sessions = _sessions(settings)
    broadcast_id = service.create_broadcast(
        sessions=sessions,
        text=body,
        topic=args.topic,
        area=args.area,
        scheduled_at=when,
        created_by="cli",
        channels=_channels(settings),
    )
    print(f"Đã hẹn gửi thông báo #{broadcast_id} lúc {local:%Y-%m-%d %H:%M} ({settings.bot_timezone}).")
    return 0


def list_(args: argparse.Namespace, settings: Settings) -> int:
    """List broadcasts (scheduled and running unless ``--all``)."""
    sessions = _sessions(settings)
    statuses = None if args.all else [SCHEDULED, SENDING]
    rows = service.list_broadcasts(sessions=sessions, statuses=statuses, limit=args.limit)
    timezone = ZoneInfo(settings.bot_timezone)
    for row in rows:
        print(status_line(row, timezone))
    if not rows:
        print("Không có thông báo nào.")
    return 0


def cancel(args: argparse.Namespace, settings: Settings) -> int:
    """Cancel a scheduled or running broadcast."""
    if service.cancel_broadcast(sessions=_sessions(settings), broadcast_id=args.id):
        print(f"Đã hủy thông báo #{args.id}.")
        return 0
    print(f"Không hủy được thông báo #{args.id} (đã gửi xong, đã hủy hoặc không tồn tại).", file=sys.stderr)
    return 1


def status(args: argparse.Namespace, settings: Settings) -> int:
    """Show (or ``--follow``) one broadcast."""
    sessions = _sessions(settings)
    timezone = ZoneInfo(settings.bot_timezone)
    if args.follow:
        return follow(sessions, args.id, timezone)
    row = service.broadcast_status(sessions=sessions, broadcast_id=args.id)
    if row is None:
        print(f"Không có thông báo #{args.id}.", file=sys.stderr)
        return 1
    print(status_line(row, timezone))
    return 0


def add_commands(sub: Any) -> None:
    """Register ``broadcast send|schedule|list|cancel|status``."""
    parser = sub.add_parser("broadcast", help="gửi, hẹn giờ, xem và hủy thông báo (announcements)")
    actions = parser.add_subparsers(dest="action", required=True)

    p = actions.add_parser("send", help="gửi thông báo ngay (nội dung, hoặc - để đọc từ đầu vào chuẩn)")
    p.add_argument("text", nargs="+", metavar="NỘI_DUNG")
    p.add_argument("--topic", metavar="CHỦ_ĐỀ", help="chỉ gửi người đăng ký chủ đề này (mã trong _announcements.yaml)")
    p.add_argument("--area", metavar="KHU_VỰC", help="chỉ gửi người ở khu vực này (mã trong _announcements.yaml)")
    p.add_argument("--no-wait", action="store_true", help="không theo dõi tiến độ gửi")
    p.add_argument("--deliver", action="store_true", help="gửi từ chính tiến trình này (qua các kênh đã cấu hình)")
    p.set_defaults(handler=send)

    p = actions.add_parser("schedule", help="hẹn giờ gửi thông báo (ngày giờ địa phương)")
    p.add_argument("text", nargs="+", metavar="NỘI_DUNG")
    p.add_argument("--at", required=True, help='giờ địa phương, "YYYY-MM-DD HH:MM"')
    p.add_argument("--topic", metavar="CHỦ_ĐỀ", help="chỉ gửi người đăng ký chủ đề này")
    p.add_argument("--area", metavar="KHU_VỰC", help="chỉ gửi người ở khu vực này")
    p.set_defaults(handler=schedule)

    p = actions.add_parser("list", help="các thông báo đang hẹn giờ và đang gửi")
    p.add_argument("--all", action="store_true", help="cả các thông báo đã xong")
    p.add_argument("--limit", type=int, default=20, help="hiện tối đa bấy nhiêu dòng (mặc định 20)")
    p.set_defaults(handler=list_)

    p = actions.add_parser("cancel", help="hủy một thông báo đang hẹn giờ hoặc đang gửi")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cancel)

    p = actions.add_parser("status", help="tiến độ gửi của một thông báo")
    p.add_argument("id", type=int)
    p.add_argument("--follow", action="store_true", help="cập nhật liên tục đến khi gửi xong")
    p.set_defaults(handler=status)
