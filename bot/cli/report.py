"""``report unanswered | usage | review | phananh``: what citizens asked that the bot could not answer, how it is
used, which knowledge entries are due for review, and citizens' reports for export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot import reports
from bot.settings import Settings
from bot.storage import migrate
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.models import utcnow


def _window(value: str) -> str:
    """Validate a ``--since`` value for argparse."""
    try:
        reports.parse_window(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _missing_schema(settings: Settings) -> bool:
    """True (after saying so) when the database was never migrated, so there is nothing to report."""
    if migrate.current_revision(settings.database_url) is not None:
        return False
    print("Cơ sở dữ liệu còn trống; hãy chạy bot một lần hoặc chạy: python -m bot db upgrade", file=sys.stderr)
    return True


def unanswered(args: argparse.Namespace, settings: Settings) -> int:
    """Print the grouped unanswered questions (text, or CSV with ``--csv``/``--output``)."""
    from bot.kb.loader import load_knowledge
    from bot.kb.search import SearchIndex

    if _missing_schema(settings):
        return 1
    loaded = load_knowledge(args.kb or settings.knowledge_dir)
    if loaded.kb is None:
        print("Kho tri thức đang có lỗi; hãy chạy: python -m bot kb check", file=sys.stderr)
        return 1
    since = utcnow() - reports.parse_window(args.since)
    engine = create_engine_for(settings.database_url)
    try:
        groups = reports.unanswered_report(
            sessionmaker=make_sessionmaker(engine),
            index=SearchIndex(loaded.kb),
            since=since,
            threshold=args.similarity,
            limit=args.limit,
        )
    finally:
        engine.dispose()
    if args.output is not None:
        with args.output.open("w", encoding="utf-8-sig", newline="") as out:  # the BOM makes Excel read UTF-8
            reports.write_unanswered_csv(groups, out)
        print(f"Đã ghi {len(groups)} nhóm câu hỏi vào {args.output}")
    elif args.csv:
        reports.write_unanswered_csv(groups, sys.stdout)
    else:
        sys.stdout.write(reports.format_unanswered(groups, window=reports.window_label(args.since)))
    return 0


def usage(args: argparse.Namespace, settings: Settings) -> int:
    """Print questions per day, answer rate, top entries, votes and subscribers."""
    if _missing_schema(settings):
        return 1
    now = utcnow()
    engine = create_engine_for(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            report = reports.usage_report(
                session=session,
                since=now - reports.parse_window(args.since),
                until=now,
                timezone=settings.bot_timezone,
            )
    finally:
        engine.dispose()
    sys.stdout.write(reports.format_usage(report, window=reports.window_label(args.since)))
    return 0


def review(args: argparse.Namespace, settings: Settings) -> int:
    """List the knowledge entries due for review (no database needed); 1 if the knowledge base has errors."""
    from bot.cli.knowledge import local_today
    from bot.kb.check import due_for_review
    from bot.kb.loader import load_knowledge

    loaded = load_knowledge(args.kb or settings.knowledge_dir)
    if loaded.kb is None:
        print("the knowledge base has errors; run: python -m bot kb check", file=sys.stderr)
        return 1
    days = args.days or settings.knowledge_review_days
    today = local_today(settings.bot_timezone)
    due = due_for_review(loaded.kb, today=today, review_days=days)
    sys.stdout.write(reports.format_review(due, today=today, review_days=days))
    return 0


def _days(value: str) -> int:
    """A positive number of days for argparse."""
    if not value.isdigit() or int(value) <= 0:
        raise argparse.ArgumentTypeError("expected a positive number of days")
    return int(value)


REPORT_COLUMNS = ("ma", "ngay_gui", "linh_vuc", "noi_dung", "dia_diem", "lien_he", "co_anh", "kenh", "trang_thai",
                  "can_bo", "tra_loi", "cap_nhat")


def phananh(args: argparse.Namespace, settings: Settings) -> int:
    """Export citizens' reports for the ward's official systems (text table, or CSV with ``--csv``)."""
    import csv
    from zoneinfo import ZoneInfo

    from bot.handoff.store import reports_since

    if _missing_schema(settings):
        return 1
    tz = ZoneInfo(settings.bot_timezone)
    since = utcnow() - reports.parse_window(args.since)
    engine = create_engine_for(settings.database_url)
    try:
        rows = reports_since(sessions=make_sessionmaker(engine), since=since)
    finally:
        engine.dispose()

    def local(value: Any) -> str:
        return str(value.astimezone(tz).strftime("%Y-%m-%d %H:%M")) if value is not None else ""

    records = [
        (r.code, local(r.created_at), r.topic, r.description, r.location or "", r.contact or "",
         "co" if r.photo else "khong", r.channel, r.status, r.assigned_name or "", r.reply or "", local(r.updated_at))
        for r in rows
    ]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(records)
    else:
        for record in records:
            print(f"{record[0]}  {record[1]}  {record[8]:<9} {record[2]}: {record[3][:80]}")
        print(f"{len(records)} phản ánh trong {reports.window_label(args.since)}")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``report unanswered``, ``usage``, ``review`` and ``phananh``."""
    report = sub.add_parser("report", help="báo cáo cho cán bộ")
    report_sub = report.add_subparsers(dest="report_command", required=True)

    p = report_sub.add_parser("unanswered", help="câu hỏi bot chưa trả lời được hoặc bị 👎, gom nhóm, nhiều nhất trước")
    p.add_argument("--since", type=_window, default="7d", help="khoảng thời gian: 7d, 24h, 2w (mặc định: 7d)")
    p.add_argument("--csv", action="store_true", help="in CSV ra đầu ra chuẩn")
    p.add_argument("--output", "-o", type=Path, help="ghi CSV vào tệp này (UTF-8 có BOM, mở được bằng Excel)")
    p.add_argument("--kb", type=Path, help="thư mục hoặc tệp tri thức (mặc định: KNOWLEDGE_DIR)")
    p.add_argument("--similarity", type=float, default=reports.SIMILARITY, help="ngưỡng gom nhóm 0-100")
    p.add_argument("--limit", type=int, help="hiện tối đa bấy nhiêu nhóm")
    p.set_defaults(handler=unanswered)

    u = report_sub.add_parser("usage", help="số câu hỏi mỗi ngày, tỉ lệ trả lời, mục hay hỏi, phản hồi, người đăng ký")
    u.add_argument("--since", type=_window, default="30d", help="khoảng thời gian (mặc định: 30d)")
    u.set_defaults(handler=usage)

    r = report_sub.add_parser("review", help="mục tri thức đến hạn rà soát (chưa ghi ngày, ngày tương lai, quá hạn)")
    r.add_argument("--kb", type=Path, help="thư mục hoặc tệp tri thức (mặc định: KNOWLEDGE_DIR)")
    r.add_argument("--days", type=_days, help="số ngày giữa hai lần rà soát (mặc định: KNOWLEDGE_REVIEW_DAYS)")
    r.set_defaults(handler=review)

    r = report_sub.add_parser("phananh", help="phản ánh, kiến nghị của người dân kèm tình trạng xử lý, để xuất báo cáo")
    r.add_argument("--since", type=_window, default="30d", help="khoảng thời gian (mặc định: 30d)")
    r.add_argument("--csv", action="store_true", help="in CSV ra đầu ra chuẩn")
    r.set_defaults(handler=phananh)
