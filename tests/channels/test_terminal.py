"""The terminal chat over the real handlers, fed from a StringIO."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.channels.terminal import format_replies, run_terminal
from bot.messages import Button, Reply
from bot.services import Services
from bot.storage.models import QuestionLog
from handlers import texts


async def chat(services: Services, lines: str) -> str:
    out = io.StringIO()
    await run_terminal(services, stdin=io.StringIO(lines), stdout=out)
    return out.getvalue()


async def test_greets_answers_and_renders_plain_text(services: Services) -> None:
    output = await chat(services, "Cách cài đặt ứng dụng VNeID trên điện thoại?\n")
    assert output.startswith(texts.TERMINAL_WELCOME)
    assert "Mình là Trợ lý số" in output  # the /start greeting, bold markers removed
    assert "**" not in output
    assert "Bạn tải ứng dụng VNeID trên CH Play" in output
    assert "Nguồn: vneid.gov.vn: https://vneid.gov.vn" in output
    assert "👍 Hữu ích" in output
    assert output.rstrip().endswith(texts.TERMINAL_BYE)
    with services.sessions() as s:
        [log] = s.scalars(select(QuestionLog)).all()
        assert log.decision == "answer"


async def test_numbers_choose_buttons_and_quit_stops(services: Services) -> None:
    output = await chat(services, "/menu\n1\n/quit\nquên mật khẩu vneid\n")
    topics = services.knowledge.kb.categories
    assert f"1. {topics[0].title}" in output
    first_question = topics[0].entries[0].question
    assert f"1. {first_question}" in output  # typing 1 opened the first topic
    assert "Quên mật khẩu" not in output  # nothing after /quit was read


async def test_empty_and_junk_lines_get_polite_replies(services: Services) -> None:
    output = await chat(services, "\n😀\n")
    assert texts.EMPTY in output and texts.NO_WORDS in output


def test_format_numbers_data_buttons_across_replies_and_shows_links() -> None:
    replies = [
        Reply("**Một**", buttons=((Button("A", data="a:1"), Button("Trang web", url="https://x.vn")),)),
        Reply("Hai", buttons=((Button("B", data="a:2"),),)),
    ]
    assert format_replies(replies) == (
        "Trợ lý số: Một\n   1. A\n   🔗 Trang web: https://x.vn\n\nTrợ lý số: Hai\n   2. B"
    )
