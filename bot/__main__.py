"""Command line: ``python -m bot run | ask | kb check | …`` (INTERFACE §2).

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every module's sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Trợ lý số: lệnh cho cán bộ phường/xã (chạy bot, hỏi thử, kiểm tra tri thức, thông báo, báo cáo).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")
    for info in sorted(pkgutil.iter_modules(bot.cli.__path__), key=lambda m: m.name):
        importlib.import_module(f"bot.cli.{info.name}").add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bot``."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
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
