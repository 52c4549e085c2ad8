"""``run``: start the bot (INTERFACE §2)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def run(_: argparse.Namespace, settings: Settings) -> int:
    """Telegram when a token is set (webhook when a URL is set), otherwise the terminal chat."""
    from bot.app import run as run_app

    return run_app(settings)


def add_commands(sub: Any) -> None:
    """Register ``run``."""
    sub.add_parser(
        "run", help="chạy bot (trò chuyện ngay trong cửa sổ dòng lệnh khi chưa đặt TELEGRAM_BOT_TOKEN)"
    ).set_defaults(handler=run)
