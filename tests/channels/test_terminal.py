"""The terminal chat over the real handlers, fed from a StringIO."""

from __future__ import annotations

import asyncio
import io
import queue

from sqlalchemy import select

from bot.channels.terminal import PROMPT, format_replies, run_terminal
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
    output = await chat(services, "\n???\n👍\n")
    assert texts.EMPTY in output and texts.NO_WORDS in output and texts.REACTION_LIKE in output


def test_format_numbers_data_buttons_across_replies_and_shows_links() -> None:
    replies = [
        Reply("**Một**", buttons=((Button("A", data="a:1"), Button("Trang web", url="https://x.vn")),)),
        Reply("Hai", buttons=((Button("B", data="a:2"),),)),
    ]
    assert format_replies(replies) == (
        "Trợ lý số: Một\n   1. A\n   🔗 Trang web: https://x.vn\n\nTrợ lý số: Hai\n   2. B"
    )


class _Typist:
    """A terminal's standard input typed line by line by the test (``readline`` blocks until a line comes)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self) -> str:
        return self.lines.get(timeout=30)


async def _wait_for(out: io.StringIO, needle: str) -> None:
    for _ in range(500):  # 10 s
        if needle in out.getvalue():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{needle!r} never appeared in:\n{out.getvalue()}")


async def test_the_flood_limit_does_not_silence_the_local_operator(services: Services) -> None:
    limit = services.flood.limit
    output = await chat(services, "chào bạn\n" * (limit + 5))
    assert texts.FLOOD not in output
    assert output.count(texts.GREETING.format(ward=services.knowledge.kb.ward.name)) == limit + 5


async def test_knowledge_edits_are_picked_up_by_themselves(services: Services) -> None:
    typist, out = _Typist(), io.StringIO()
    chat_task = asyncio.create_task(run_terminal(services, stdin=typist, stdout=out, watch_interval=0.05))  # type: ignore[arg-type]
    await _wait_for(out, PROMPT)
    folder = services.knowledge.path
    (folder / "moi.yaml").write_text(
        "category: moi\ntitle: Chủ đề mới\nentries:\n  - id: dang-ky-xe-may\n"
        "    question: Đăng ký xe máy mới mua cần giấy tờ gì?\n    answer: Mang hóa đơn và căn cước đến công an.\n",
        encoding="utf-8",
    )
    await _wait_for(out, texts.RELOAD_OK.format(count=len(services.knowledge.kb.entries) + 1))
    typist.lines.put("đăng ký xe máy mới mua cần giấy tờ gì\n")
    await _wait_for(out, "Mang hóa đơn và căn cước")
    (folder / "moi.yaml").write_text("category: moi\ntitle: [broken\n", encoding="utf-8")
    await _wait_for(out, "moi.yaml:")  # a broken edit: the file:line problems, the old knowledge stays live
    assert services.knowledge.kb.entry("dang-ky-xe-may") is not None
    typist.lines.put("")
    await asyncio.wait_for(chat_task, 10)
