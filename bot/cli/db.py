"""``db upgrade | downgrade | current | purge-logs``: the database schema and retention from the shell.

The bot migrates to the newest revision when it starts; run ``db upgrade`` yourself before starting several
instances at once (the compose file does it in a one-shot ``migrate`` service) or to check a new release.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from sqlalchemy.engine import make_url

from bot.logs import configure_logging
from bot.settings import Settings
from bot.storage import migrate


def display_url(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    return make_url(settings.database_url).render_as_string(hide_password=True)


def upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade the database to ``--revision`` (default: head)."""
    configure_logging(settings)
    migrate.upgrade(settings.database_url, args.revision)
    print(f"{display_url(settings)}: {migrate.current_revision(settings.database_url) or '(none)'}")
    return 0


def downgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Downgrade the database to ``REVISION`` (``base`` drops every table)."""
    configure_logging(settings)
    migrate.downgrade(settings.database_url, args.revision)
    print(f"{display_url(settings)}: {migrate.current_revision(settings.database_url) or '(none)'}")
    return 0


def current(_: argparse.Namespace, settings: Settings) -> int:
    """Print the database's revision, marked ``(head)`` when it is the newest; exit 1 when behind."""
    revision = migrate.current_revision(settings.database_url)
    head = migrate.head_revision()
    if revision == head:
        print(f"{revision} (head)")
        return 0
    print(f"{revision or '(none)'} (mới nhất là {head}; hãy chạy: python -m bot db upgrade)")
    return 1


def purge_logs(args: argparse.Namespace, settings: Settings) -> int:
    """Apply every retention period now: questions (and handled staff questions and reports) older than ``--days``
    (default ``QUESTION_LOG_RETENTION_DAYS``); 👎 comments, inactive users and delivery rows by their settings."""
    from bot import retention
    from bot.storage.db import create_engine_for, make_sessionmaker

    configure_logging(settings)
    days = args.days if args.days is not None else settings.question_log_retention_days
    engine = create_engine_for(settings.database_url)
    sessions = make_sessionmaker(engine)
    steps = (
        (days, retention.purge_old_question_logs, "QUESTION_LOG_RETENTION_DAYS", "câu hỏi đã ghi"),
        (settings.feedback_comment_retention_days, retention.erase_old_feedback_comments,
         "FEEDBACK_COMMENT_RETENTION_DAYS", "góp ý sau 👎 (xóa nội dung)"),
        (settings.inactive_user_retention_days, retention.purge_inactive_users,
         "INACTIVE_USER_RETENTION_DAYS", "người dùng không hoạt động, không đăng ký"),
        (settings.delivery_retention_days, retention.purge_old_deliveries,
         "DELIVERY_RETENTION_DAYS", "dòng gửi thông báo đã xong"),
        (days, retention.purge_handled_handoffs,
         "QUESTION_LOG_RETENTION_DAYS", "câu hỏi cán bộ đã trả lời và phản ánh đã đóng"),
    )  # fmt: skip
    try:
        for period, purge, setting, what in steps:
            if period <= 0:
                print(f"{setting} là 0: giữ nguyên {what}.")
                continue
            removed = purge(sessionmaker=sessions, older_than_days=period)
            logging.getLogger(__name__).info("retention (%s): %d rows older than %d days", setting, removed, period)
            print(f"Đã xóa {removed} {what} quá {period} ngày.")
    finally:
        engine.dispose()
    return 0


def add_commands(sub: Any) -> None:
    """Register ``db upgrade``, ``db downgrade``, ``db current`` and ``db purge-logs``."""
    db = sub.add_parser("db", help="nâng cấp cơ sở dữ liệu và xóa dữ liệu quá hạn lưu giữ")
    db_sub = db.add_subparsers(dest="db_command", required=True)

    up = db_sub.add_parser("upgrade", help="nâng cấp cơ sở dữ liệu lên một phiên bản (mặc định: mới nhất)")
    up.add_argument("--revision", default="head", help="phiên bản đích (mặc định: head)")
    up.set_defaults(handler=upgrade)

    down = db_sub.add_parser("downgrade", help="hạ cơ sở dữ liệu về REVISION ('base' xóa mọi bảng)")
    down.add_argument("revision", metavar="REVISION")
    down.set_defaults(handler=downgrade)

    db_sub.add_parser(
        "current", help="in phiên bản hiện tại của cơ sở dữ liệu; thoát 1 khi chưa mới nhất"
    ).set_defaults(handler=current)

    purge = db_sub.add_parser("purge-logs", help="xóa dữ liệu quá hạn lưu giữ")
    purge.add_argument("--days", type=int, help="mặc định: QUESTION_LOG_RETENTION_DAYS")
    purge.set_defaults(handler=purge_logs)
