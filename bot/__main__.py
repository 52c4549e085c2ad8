"""Command line: ``python -m bot run | ask | kb check | kiemtra | …``.

Sub-commands live in ``bot/cli/``: every module there registers its own with ``add_commands``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
from collections.abc import Sequence

import bot.cli
from bot.settings import Settings

# Commands that must start fast import only their own module: ``ask`` needs neither SQLAlchemy nor Alembic.
FAST_COMMANDS = {"ask": "knowledge", "kb": "knowledge", "kiemtra": "scam"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every module's sub-commands (only the one module of a fast ``command``)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Trợ lý số: lệnh cho cán bộ phường/xã (chạy bot, hỏi thử, kiểm tra tri thức, thông báo, báo cáo).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")
    if command in FAST_COMMANDS:
        names = [FAST_COMMANDS[command]]
    else:
        names = sorted(m.name for m in pkgutil.iter_modules(bot.cli.__path__))
    for name in names:
        importlib.import_module(f"bot.cli.{name}").add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bot``."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    # Whatever the locale, a line that is not UTF-8 reaches the command (which repairs it) instead of stopping a batch.
    reconfigure = getattr(sys.stdin, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", errors="surrogateescape")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        code: int = args.handler(args, Settings())
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_went_away()
    return code


def _reader_went_away() -> int:
    """Standard output was closed by its reader (``… | head``): stop quietly, like other shell tools."""
    # Python would flush stdout again at exit and print a second BrokenPipeError; point it at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
