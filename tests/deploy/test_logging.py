"""``configure_logging``: one line per event, JSON lines that parse, and no secret in any of them."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from bot.logs import configure_logging, redact, register_secret
from bot.settings import Settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OTHER_TOKEN = "987654321:ZZfakeTokenOfAnotherBot_0123456789ab"
WEBHOOK_SECRET = "wh-secret-5f2c9a1e"
ZALO_APP_SECRET = "zalo-app-secret-77aa"
ZALO_ACCESS = "zalo-access-token-XYZ123456"
ZALO_REFRESH = "zalo-refresh-token-QWE987654"
PRIVATE_QUESTION = "câu hỏi riêng tư của công dân"  # not on the line that fails, so no traceback quotes it
SECRETS = (TOKEN, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", OTHER_TOKEN.split(":")[1], WEBHOOK_SECRET, ZALO_APP_SECRET,
           ZALO_ACCESS, ZALO_REFRESH, "runtime-token-abcdef", "pg-password-42")  # fmt: skip


def settings(log_format: str, level: str = "INFO") -> Settings:
    return Settings(
        telegram_bot_token=SecretStr(TOKEN),
        telegram_webhook_secret=SecretStr(WEBHOOK_SECRET),
        zalo_app_secret=SecretStr(ZALO_APP_SECRET),
        zalo_oa_access_token=SecretStr(ZALO_ACCESS),
        zalo_oa_refresh_token=SecretStr(ZALO_REFRESH),
        log_format=log_format,
        log_level=level,
        _env_file=None,  # type: ignore[call-arg]
    )


def emit_everything() -> int:
    """Log the usual leaks; returns how many records should come out at INFO."""
    log = logging.getLogger("bot.test")
    log.info("GET https://api.telegram.org/bot%s/getUpdates?offset=1", TOKEN)
    log.warning("calling %s", f"https://api.telegram.org/bot{OTHER_TOKEN}/sendMessage")
    try:
        raise RuntimeError(f"Zalo refused access_token={ZALO_ACCESS} with secret {ZALO_APP_SECRET}")
    except RuntimeError:
        log.exception("refresh failed for %s", ZALO_REFRESH)
    log.error('webhook header X-Telegram-Bot-Api-Secret-Token: %s\nbody {"refresh_token": "%s"}',
              WEBHOOK_SECRET, ZALO_REFRESH)  # fmt: skip
    register_secret("runtime-token-abcdef")
    log.info("new token runtime-token-abcdef stored; db postgresql://bot:pg-password-42@db/bot")
    try:
        with create_engine("sqlite://").begin() as conn:  # a database error quoting the citizen's text
            conn.execute(text("INSERT INTO missing (q) VALUES (:q)"), {"q": PRIVATE_QUESTION})
    except Exception:
        log.exception("handler failed")
    log.debug("citizen asked: %s", "làm căn cước ở đâu")  # below INFO: must not appear
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    return 6


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_reaches_the_output(log_format: str) -> None:
    out = io.StringIO()
    configure_logging(settings(log_format), stream=out)
    expected = emit_everything()
    output = out.getvalue()
    lines = output.splitlines()
    assert len(lines) == expected, output  # one line per event, tracebacks included
    for secret in SECRETS:
        assert secret not in output, secret
    assert "bot123456789:***" in output  # the public bot id stays readable
    assert "RuntimeError" in output and "Traceback" in output  # the exception itself is still logged
    assert "căn cước" not in output and "getMe" not in output
    assert "riêng tư" not in output and "[parameters: ***]" in output and "no such table: missing" in output
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert [r["level"] for r in records] == ["INFO", "WARNING", "ERROR", "ERROR", "INFO", "ERROR"]
        assert all(r["logger"] == "bot.test" and r["time"].endswith("+00:00") for r in records)
        assert "RuntimeError" in records[2]["exc"] and ZALO_ACCESS not in records[2]["exc"]
    else:
        assert lines[0].split()[2:4] == ["INFO", "bot.test:"]


def test_debug_level_shows_debug_lines_and_unknown_levels_fall_back_to_info() -> None:
    out = io.StringIO()
    configure_logging(settings("text", "debug"), stream=out)
    logging.getLogger("bot.test").debug("visible at debug")
    assert "visible at debug" in out.getvalue()

    out = io.StringIO()
    configure_logging(settings("text", "LOUD"), stream=out)
    logging.getLogger("bot.test").debug("hidden")
    logging.getLogger("bot.test").info("shown")
    text = out.getvalue()
    assert "hidden" not in text and "shown" in text and "unknown LOG_LEVEL 'LOUD'" in text


def test_configure_logging_replaces_earlier_handlers() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(settings("text"), stream=first)
    configure_logging(settings("json"), stream=second)
    logging.getLogger("bot.test").warning("once")
    assert first.getvalue() == "" and json.loads(second.getvalue())["message"] == "once"


def test_redact_leaves_ordinary_text_alone() -> None:
    plain = "Lúc 12:30 ngày 01/03, người dùng 42 hỏi về thẻ bảo hiểm y tế (mã 0123456789)."
    assert redact(plain, ["ab"]) == plain  # secrets shorter than 4 characters are not registered anyway
    assert redact(f"x {TOKEN} y", [TOKEN]) == "x *** y"
