"""``run``: start the bot."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.kb.problems import KnowledgeLoadError, Severity
from bot.settings import Settings


def run(_: argparse.Namespace, settings: Settings) -> int:
    """Telegram when a token is set (webhook when a URL is set), otherwise the terminal chat."""
    from bot.app import run as run_app

    try:
        return run_app(settings)
    except KnowledgeLoadError as exc:
        # No good copy to fall back on: the problems themselves are what staff need, not a traceback.
        print(
            f"Không khởi động được: cơ sở tri thức ở {settings.knowledge_dir} có lỗi và chưa có bản tốt nào được "
            "lưu để dùng tạm. Hãy sửa các lỗi sau rồi chạy lại (kiểm tra bằng: python -m bot kb check):",
            file=sys.stderr,
        )
        for problem in exc.problems:
            if problem.severity is Severity.ERROR:
                print(f"  {problem}", file=sys.stderr)
        return 1


def add_commands(sub: Any) -> None:
    """Register ``run``."""
    sub.add_parser(
        "run", help="chạy bot (trò chuyện ngay trong cửa sổ dòng lệnh khi chưa đặt TELEGRAM_BOT_TOKEN)"
    ).set_defaults(handler=run)
