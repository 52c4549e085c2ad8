"""Logging for the whole process: one line per event (text or JSON lines), with secrets redacted.

``configure_logging(settings)`` installs a single stderr handler on the root logger and routes every other
logger (uvicorn's, libraries') and Python warnings through it. A filter on that handler
rewrites every record before it is formatted: the setting values that are secrets (the Telegram token, webhook
and Zalo secrets and tokens), anything shaped like a Telegram token (``bot123:ABC…`` in request URLs),
``access_token=…``-style parameters, database passwords and the bound parameters SQLAlchemy prints in its
errors become ``***``. Channels that learn new secrets at run time (refreshed Zalo tokens) pass them to
:func:`register_secret`.

Rule for every module: what citizens type is logged only at DEBUG, never at INFO or above.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import SecretStr

from bot.settings import Settings

REDACTED = "***"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers that are chatty at INFO or print request URLs (which carry the bot token).
QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler", "hpack")

_SECRET_SETTINGS = (
    "telegram_bot_token",
    "telegram_webhook_secret",
    "http_metrics_token",
    "zalo_app_secret",
    "zalo_oa_secret_key",
    "zalo_oa_access_token",
    "zalo_oa_refresh_token",
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot tokens, with or without the "bot" prefix of Bot API URLs: keep the public bot id.
    (re.compile(r"\b(bot)?(\d{5,}):[A-Za-z0-9_-]{20,}"), rf"\1\2:{REDACTED}"),
    # access_token=…, "refresh_token": "…", secret_key: … in URLs, JSON bodies and headers.
    (
        re.compile(
            r"""(?i)((?:access|refresh)[-_]token|secret[-_]key|app[-_]secret|client[-_]secret|code[-_]verifier"""
            r"""|secret[-_]token|password)"""
            r"""(["']?\s*[:=]\s*["']?)([^\s"'&,;}]+)"""
        ),
        rf"\1\2{REDACTED}",
    ),
    # SQLAlchemy puts bound parameters (citizens' questions, stored tokens) into its error messages.
    (re.compile(r"\[parameters: [^\n]*"), f"[parameters: {REDACTED}]"),
    # The password part of URLs such as postgresql://user:password@host/db.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)

_MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and every secret-looking pattern replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def secrets_from(settings: Settings) -> list[str]:
    """The secret values configured in ``settings``."""
    values: list[str] = []
    for name in _SECRET_SETTINGS:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if name == "telegram_bot_token" and isinstance(value, str):
            value = value.partition(":")[2] or value  # the bot id before ":" is public; keep it readable
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
            values.append(value)
    return values


class RedactFilter(logging.Filter):
    """Rewrites message, exception text and stack of every record so that no secret reaches a handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Redact ``secret`` from now on (values shorter than 4 characters are ignored)."""
        if len(secret) >= _MIN_SECRET_LENGTH:
            self.secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log what we have rather than nothing
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def _one_line(text: str) -> str:
    """Escape line breaks so that a record (with its traceback) stays on one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class OneLineFormatter(logging.Formatter):
    """The usual text format, with tracebacks and multi-line messages escaped onto the same line."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as one line."""
        return _one_line(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message and, if any, exc and stack."""

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as one JSON line."""
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False)


_installed: list[RedactFilter] = []


def register_secret(secret: str) -> None:
    """Redact ``secret`` (a token learnt at run time) from every later log line."""
    for redactor in _installed:
        redactor.add(secret)


def configure_logging(
    settings: Settings, *, stream: TextIO | None = None, extra_secrets: Iterable[str] = ()
) -> logging.Handler:
    """Log to ``stream`` (stderr) at ``LOG_LEVEL`` in ``LOG_FORMAT`` (text or json), redacting secrets."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    json_lines = settings.log_format.strip().lower() == "json"
    handler.setFormatter(JsonFormatter() if json_lines else OneLineFormatter())
    redactor = RedactFilter([*secrets_from(settings), *extra_secrets])
    handler.addFilter(redactor)
    _installed[:] = [redactor]

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    # Libraries that brought their own handlers (uvicorn's default config among them) would print around the
    # redaction and the JSON format: strip them so that every line reaches this one handler.
    for existing in list(logging.root.manager.loggerDict.values()):
        if isinstance(existing, logging.Logger) and existing.handlers:
            for old in list(existing.handlers):
                existing.removeHandler(old)
            existing.propagate = True
    logging.captureWarnings(True)  # warnings.warn(...) from libraries too
    level = logging.getLevelName(settings.log_level.strip().upper())
    unknown_level = not isinstance(level, int)
    root.setLevel(logging.INFO if unknown_level else level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if unknown_level:
        logging.getLogger(__name__).warning("unknown LOG_LEVEL %r; using INFO", settings.log_level)
    return handler
