"""Text is cleaned where it enters the handlers: lone surrogates and control characters never reach storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.messages import IncomingMessage
from bot.sanitize import clean_message, clean_text, from_shell
from bot.services import Services, build_services
from bot.settings import Settings
from bot.storage.models import QuestionLog, User
from handlers import texts
from handlers.routes import handle


@given(st.binary(max_size=200))
def test_shell_text_is_what_its_utf8_bytes_say_with_the_rest_replaced(raw: bytes) -> None:
    # As Python hands a command its arguments and (with surrogateescape) its standard input.
    text = from_shell(raw.decode("utf-8", "surrogateescape"))
    assert text == clean_text(raw.decode("utf-8", "replace"))
    text.encode("utf-8")


def test_shell_text_keeps_the_question_around_a_bad_byte() -> None:
    assert from_shell(b"qu\xc3\xaan m\xff\x00t".decode("utf-8", "surrogateescape")) == "quên m\ufffdt"
    assert from_shell("nửa emoji \ud83d") == "nửa emoji "  # a surrogate no byte escapes is dropped


@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_clean_text_always_encodes_and_keeps_printable_text(value: str) -> None:
    cleaned = clean_text(value)
    cleaned.encode("utf-8")  # never raises: no lone surrogate left
    assert all(ch in "\n\t" or ch.isprintable() or not ch.isascii() for ch in cleaned)
    assert "\x00" not in cleaned and "\r" not in cleaned
    assert clean_text(cleaned) == cleaned


def test_clean_text_examples() -> None:
    assert clean_text("Họp tổ dân phố\r\nngày mai\tnhé 👍") == "Họp tổ dân phố\nngày mai\tnhé 👍"
    assert clean_text("quên \ud83d mật\x00 khẩu\x1b[31m vneid") == "quên  mật khẩu[31m vneid"
    msg = IncomingMessage(channel="t", user_id="u", chat_id="u", text="ok")
    assert clean_message(msg) is msg


@pytest.fixture
def db_services(db_url: str, kb_dir: Path) -> Iterator[Services]:
    built = build_services(Settings(database_url=db_url, knowledge_dir=kb_dir, _env_file=None))  # type: ignore[call-arg]
    yield built
    built.close()


async def test_a_lone_surrogate_still_gets_the_answer_and_is_logged(db_services: Services) -> None:
    msg = IncomingMessage(
        channel="test", user_id="u1", chat_id="u1", text="quên mật khẩu vneid \ud83d\x00", display_name="Lan \udc00"
    )
    [reply] = await handle(msg, db_services)
    assert "Quên mật khẩu" in reply.text and reply.text != texts.ERROR
    with db_services.sessions() as s:
        [log] = s.scalars(select(QuestionLog)).all()
        assert log.raw_text == "quên mật khẩu vneid" and log.matched_id == "vneid-quen-mat-khau"
        assert s.scalars(select(User.display_name)).one() == "Lan "
