"""Command line: ``python -m bot run | ask | kb check | …`` (INTERFACE §2).

Sub-commands live in ``bot/cli/``: every module there registers its own with ``add_commands``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import bot.cli
from bot.settings import Settings

# Commands that must start fast import only their own module: ``ask`` needs neither SQLAlchemy nor Alembic.
FAST_COMMANDS = {"ask": "knowledge", "kb": "knowledge"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every module's sub-commands (only the one module of a fast ``command``)."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý số")
    sub = parser.add_subparsers(dest="command", required=True)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    code: int = args.handler(args, Settings())
    return code


if __name__ == "__main__":
    sys.exit(main())
