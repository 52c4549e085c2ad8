"""Conversation state per flow, in the database: several flows per user, expiry, questions always answered,
and two instances (two Services on one database) seeing the same state."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.messages import IncomingMessage, Reply
from bot.services import Services, build_services
from bot.settings import Settings
from bot.storage.flows import FlowStore, purge_expired_flows
from bot.storage.models import ConversationFlow, Feedback, QuestionLog
from handlers import broadcast_staff, feedback, texts
from handlers.routes import handle
from handlers.ui import data_buttons
from tests.conftest import FakeClock


async def send(services: Services, text: str | None = None, *, data: str | None = None, user: str = "u1",
               **kw: object) -> list[Reply]:  # fmt: skip
    msg = IncomingMessage(channel="test", user_id=user, chat_id=user, text=text, button_data=data, **kw)  # type: ignore[arg-type]
    return await handle(msg, services)


def rows(services: Services, model: type) -> list:  # type: ignore[type-arg]
    with services.sessions() as s:
        return list(s.scalars(select(model).order_by(model.id)))  # type: ignore[attr-defined]


async def thumbs_down(services: Services, user: str = "u1") -> None:
    """Ask a question that is answered, then press 👎 on it."""
    answer = await send(services, "cài app vneid thế nào", user=user)
    vote = next(d for d in data_buttons(answer) if d.startswith("fb:") and d.endswith(":0"))
    assert (await send(services, data=vote, user=user))[0].text == texts.ASK_COMMENT


@pytest.fixture
def two_instances(kb_dir: Path, db_url: str) -> Iterator[tuple[Services, Services, FakeClock]]:
    """Two Services (two bot instances) on one database, sharing a fake clock."""
    clock = FakeClock()
    settings = Settings(database_url=db_url, knowledge_dir=kb_dir, admin_telegram_ids="7", _env_file=None)
    first = build_services(settings, clock=clock)
    second = build_services(settings, clock=clock)
    yield first, second, clock
    first.close()
    second.close()


async def test_flow_store_keeps_one_flow_per_kind_and_expires(services: Services, clock: FakeClock) -> None:
    flows = services.flows
    key = ("test", "a")
    await flows.start(key, "one", "1", ttl=60)
    await flows.start(key, "two", "2", ttl=120)
    await flows.start(key, "one", "1b", ttl=60)  # restarting a kind replaces only that kind
    assert await flows.active(key) == {"one": "1b", "two": "2"}
    assert await flows.take(key, "one", "wrong") is None
    assert await flows.take(key, "one", "1b") == "1b"
    assert await flows.take(key, "one") is None  # consumed once
    clock.advance(121)
    assert await flows.active(key) == {}
    assert purge_expired_flows(sessions=services.sessions, now=clock()) == 1
    assert rows(services, ConversationFlow) == []


async def test_thumbs_down_during_a_notice_draft_keeps_the_draft(services: Services) -> None:
    staff = {"user": "7", "is_staff": True}
    await send(services, "/thongbao Họp tổ dân phố tối nay", **staff)
    await thumbs_down(services, user="7")
    assert (await send(services, "Câu trả lời thiếu bước", **staff))[0].text == texts.COMMENT_SAVED
    # The draft is still there: the topic buttons and the confirm work.
    panel = await send(services, data="tb:now", **staff)
    assert "tb:go" in data_buttons(panel)
    started = await send(services, data="tb:go", **staff)
    assert started[0].text.startswith(texts.NOTICE_STARTED.split("{")[0])
    assert (await send(services, data="tb:go", **staff))[0].text == texts.NOTICE_EXPIRED  # not sent twice


async def test_a_question_after_thumbs_down_is_answered_not_stored(services: Services) -> None:
    await thumbs_down(services)
    for question in ("làm sao gia hạn bhyt hộ gia đình", "Quên mật khẩu VNeID", "trẻ em có được miễn phí không",
                     "hạn thẻ bhyt?"):  # fmt: skip
        reply = (await send(services, question))[0]
        assert reply.text not in (texts.COMMENT_SAVED, texts.COMMENT_SKIPPED), question
    assert [f.comment for f in rows(services, Feedback)] == [None]
    assert len(rows(services, QuestionLog)) == 5  # the first question and the four that followed
    # The wait for a comment ended with the first new question: a later remark is not a comment either.
    assert (await send(services, "Hướng dẫn thiếu bước"))[0].text != texts.COMMENT_SAVED


async def test_a_comment_that_is_clearly_not_a_question_is_stored(services: Services) -> None:
    await thumbs_down(services)
    assert (await send(services, "Hướng dẫn hơi khó hiểu, thiếu bước xác thực"))[0].text == texts.COMMENT_SAVED
    assert [f.comment for f in rows(services, Feedback)] == ["Hướng dẫn hơi khó hiểu, thiếu bước xác thực"]


def test_question_detection(services: Services) -> None:
    def question(body: str) -> bool:
        from bot.kb.normalize import fold

        return feedback.looks_like_question(body, fold(body), services)

    assert question("cái này là gì")
    assert question("làm thế nào để đăng ký")
    assert question("có được không")
    assert question("tải vneid ở đâu")
    assert question("cài app vneid")  # no question word, but a close knowledge-base match
    assert not question("Câu trả lời chưa đúng với trường hợp của tôi, mong sửa")
    assert not question("hơi khó hiểu ạ")


async def test_two_instances_share_flows(two_instances: tuple[Services, Services, FakeClock]) -> None:
    first, second, clock = two_instances
    staff = {"user": "7", "is_staff": True}
    # The draft starts on one instance; the buttons land on the other.
    await send(first, "/thongbao Lịch tiêm chủng tháng này", **staff)
    assert "tb:go" in data_buttons(await send(second, data="tb:now", **staff))
    # 👎 on one instance, the comment on the other.
    await thumbs_down(first, user="9")
    assert (await send(second, "Thiếu số điện thoại liên hệ", user="9"))[0].text == texts.COMMENT_SAVED
    # Both instances press confirm at once: exactly one broadcast starts.
    replies = await asyncio.gather(send(first, data="tb:go", **staff), send(second, data="tb:go", **staff))
    texts_seen = sorted(r[0].text == texts.NOTICE_EXPIRED for r in replies)
    assert texts_seen == [False, True]
    # A deletion confirm started on one instance is consumed on the other, once.
    ask = await send(first, "/xoadulieu", user="9")
    yes = next(d for d in data_buttons(ask) if d.startswith("del:yes:"))
    assert (await send(second, data=yes, user="9"))[0].text == texts.DELETED
    assert (await send(first, data=yes, user="9"))[0].text == texts.DELETE_EXPIRED
    # Drafts expire on every instance.
    await send(first, "/thongbao Thông báo sẽ hết hạn", **staff)
    clock.advance(broadcast_staff.DRAFT_SECONDS + 1)
    assert (await send(second, data="tb:now", **staff))[0].text == texts.NOTICE_EXPIRED


async def test_flow_value_is_bounded(services: Services) -> None:
    with pytest.raises(ValueError):
        await FlowStore(services.sessions, lambda: dt.datetime.now(dt.UTC)).start(("t", "u"), "k", "x" * 20_000, ttl=1)
