"""Handlers end to end on plain messages: real services, a temporary knowledge base and SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot import reports
from bot.kb.models import Entry
from bot.kb.result import Decision
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from bot.storage import repo
from bot.storage.models import Feedback, QuestionLog, User
from handlers import texts
from handlers.faq import answer_text
from handlers.routes import handle
from handlers.ui import choice_map, choose_number, data_buttons


async def send(
    services: Services, text: str | None = None, *, data: str | None = None, user: str = "u1", **kw: Any
) -> list[Reply]:
    """Send one message as ``user`` and check every button payload is compact."""
    msg = IncomingMessage(channel="test", user_id=user, chat_id=user, text=text, button_data=data, **kw)
    replies = await handle(msg, services)
    for reply in replies:
        for row in reply.buttons:
            for b in row:
                assert b.data is None or len(b.data.encode()) <= 64
    return replies


def one(replies: list[Reply]) -> Reply:
    assert len(replies) == 1, replies
    return replies[0]


def logs(services: Services) -> list[QuestionLog]:
    with services.sessions() as s:
        return list(s.scalars(select(QuestionLog).order_by(QuestionLog.id)))


def feedback_rows(services: Services) -> list[Feedback]:
    with services.sessions() as s:
        return list(s.scalars(select(Feedback).order_by(Feedback.id)))


# --- start, help, menu ------------------------------------------------------------------------------


async def test_start_greets_and_offers_topics(services: Services) -> None:
    for word in ("/start", "bắt đầu", "start", "Bat dau"):
        reply = one(await send(services, word))
        assert "Trợ lý số" in reply.text
        assert data_buttons([reply]) == ["m:cat:vneid", "m:cat:bhyt"] or data_buttons([reply]) == [
            "m:cat:bhyt",
            "m:cat:vneid",
        ]
    with services.sessions() as s:
        assert repo.get_user(session=s, channel="test", external_id="u1") is not None


async def test_help_lists_commands(services: Services) -> None:
    for word in ("/help", "trợ giúp", "hướng dẫn"):
        reply = one(await send(services, word))
        assert "/xoadulieu" in reply.text and "/menu" in reply.text


async def test_menu_navigation_edits_in_place(services: Services) -> None:
    topics = one(await send(services, "/menu"))
    assert topics.text == texts.MENU_TOPICS and topics.edit_message_id is None
    questions = one(await send(services, data="m:cat:vneid", message_id="77"))
    assert questions.edit_message_id == "77"
    assert "Định danh điện tử VNeID" in questions.text
    assert data_buttons([questions]) == [
        "a:vneid-cai-dat",
        "a:vneid-kich-hoat-muc-2",
        "a:vneid-quen-mat-khau",
        "m:root",
    ]
    assert questions.buttons[-1][0].label == texts.BUTTON_BACK
    back = one(await send(services, data="m:root", message_id="77"))
    assert back.text == texts.MENU_TOPICS and back.edit_message_id == "77"
    answer = one(await send(services, data="a:vneid-cai-dat", message_id="77"))
    assert "CH Play" in answer.text
    assert "fb:e:vneid-cai-dat:1" in data_buttons([answer])
    assert "m:cat:vneid" in data_buttons([answer])  # « Quay lại to the topic


async def test_menu_paginates_long_topics(services: Services) -> None:
    entries = "".join(
        f"  - id: thu-tuc-{i}\n    question: Thủ tục số {i} cần giấy tờ gì?\n    answer: Câu trả lời {i}.\n"
        for i in range(1, 11)
    )
    (services.knowledge.path / "thu-tuc.yaml").write_text(
        f"category: thu-tuc\ntitle: Thủ tục hành chính\nentries:\n{entries}", encoding="utf-8"
    )
    assert services.knowledge.reload().ok
    first = one(await send(services, data="m:cat:thu-tuc", message_id="1"))
    assert "(trang 1/2)" in first.text
    first_data = data_buttons([first])
    assert first_data[:7] == [f"a:thu-tuc-{i}" for i in range(1, 8)]
    assert "m:cat:thu-tuc:2" in first_data and "m:cat:thu-tuc:0" not in first_data
    second = one(await send(services, data="m:cat:thu-tuc:2", message_id="1"))
    assert data_buttons([second]) == ["a:thu-tuc-8", "a:thu-tuc-9", "a:thu-tuc-10", "m:cat:thu-tuc:1", "m:root"]
    assert one(await send(services, data="m:cat:thu-tuc:3")).text == texts.INVALID_BUTTON


async def test_menu_numbers_mean_the_same_on_every_page(services: Services) -> None:
    entries = "".join(
        f"  - id: thu-tuc-{i}\n    question: Thủ tục số {i} cần giấy tờ gì?\n    answer: Câu trả lời {i}.\n"
        for i in range(1, 19)
    )
    (services.knowledge.path / "thu-tuc.yaml").write_text(
        f"category: thu-tuc\ntitle: Thủ tục hành chính\nentries:\n{entries}", encoding="utf-8"
    )
    assert services.knowledge.reload().ok
    page1 = one(await send(services, data="m:cat:thu-tuc"))
    assert choice_map([page1]) == {**{i: f"a:thu-tuc-{i}" for i in range(1, 8)}, 9: "m:cat:thu-tuc:2", 0: "m:root"}
    assert "(trang 2/3)" in one(await send(services, "9")).text  # 9 = next page
    assert "(trang 3/3)" in one(await send(services, "9")).text  # 9 again: still next
    page3_back = one(await send(services, "8"))  # 8 = previous page
    assert "(trang 2/3)" in page3_back.text
    assert choice_map([page3_back])[8] == "m:cat:thu-tuc:1" and choice_map([page3_back])[9] == "m:cat:thu-tuc:3"
    first_of_page_2 = one(await send(services, "1")).text
    assert first_of_page_2.startswith("📌 Thủ tục số 8 cần giấy tờ gì?\n\nCâu trả lời 8.")
    await send(services, data="m:cat:thu-tuc:3")
    last = one(await send(services, "9"))  # no next page on the last one: the numbers on offer are listed
    assert last.text == texts.CHOOSE_NUMBER_OF.format(numbers="1, 2, 3, 4, 8 hoặc 0")
    assert one(await send(services, "0")).text == texts.MENU_TOPICS  # 0 = back to the topics


async def test_bare_numbers_press_the_offered_buttons(services: Services) -> None:
    assert one(await send(services, "2")).text == texts.NUMBER_WITHOUT_CHOICES
    topics = one(await send(services, "/menu"))
    second = data_buttons([topics])[1]
    chosen = one(await send(services, "2"))
    assert chosen.text.startswith("**" + services.knowledge.kb.category(second.split(":")[2]).title)  # type: ignore[union-attr]
    assert one(await send(services, "99")).text == choose_number(choice_map([chosen]))
    assert one(await send(services, "/menu"))  # a list of topics only: numbered 1…n
    assert one(await send(services, "99")).text == texts.CHOOSE_NUMBER.format(count=len(data_buttons([topics])))
    await send(services, "2")
    answer = one(await send(services, " 1. "))
    assert services.knowledge.kb.entry(data_buttons([chosen])[0][2:]).answer.strip() in answer.text  # type: ignore[union-attr]


async def test_numbers_belong_to_each_user(services: Services) -> None:
    await send(services, "/menu", user="a")
    assert one(await send(services, "1", user="b")).text == texts.NUMBER_WITHOUT_CHOICES


# --- free text ---------------------------------------------------------------------------------------


async def test_answer_has_source_related_and_votes_and_is_logged(services: Services) -> None:
    reply = one(await send(services, "Cách cài đặt ứng dụng VNeID trên điện thoại?"))
    assert "CH Play" in reply.text
    assert "Nguồn: [vneid.gov.vn](https://vneid.gov.vn)" in reply.text
    [log] = logs(services)
    assert (log.decision, log.matched_id) == ("answer", "vneid-cai-dat")
    assert log.confidence > 0.5 and log.latency_ms >= 0
    assert log.raw_text == "Cách cài đặt ứng dụng VNeID trên điện thoại?"
    choices = data_buttons([reply])
    assert choices[:2] == [f"fb:{log.id}:1", f"fb:{log.id}:0"]
    related = [d for d in choices if d.startswith("a:")]
    assert 1 <= len(related) <= 3 and "a:vneid-cai-dat" not in related


# Questions that name two entries' topics at once, so no single entry answers them. Which of them the engine is
# unsure about depends on its fitted weights, so the tests ask the engine itself; at least one must fall in each band.
AMBIGUOUS = ("mật khẩu kích hoạt", "gia hạn trẻ em", "tra cứu kích hoạt", "bảo hiểm ứng dụng", "tài khoản thời hạn")
UNRELATED = ("thời tiết ngày mai ra sao", "công thức nấu phở bò", "đội bóng nào vô địch năm nay")


def query_with(services: Services, decision: Decision, queries: tuple[str, ...]) -> str:
    """The first of ``queries`` for which the engine makes ``decision``."""
    found = [q for q in queries if services.knowledge.search(q).decision is decision]
    assert found, f"none of {queries} gives {decision.value}"
    return found[0]


async def test_suggest_offers_candidates(services: Services) -> None:
    reply = one(await send(services, query_with(services, Decision.SUGGEST, AMBIGUOUS)))
    assert reply.text == texts.SUGGEST
    *choices, none = data_buttons([reply])
    assert 1 <= len(choices) <= 3 and all(d.startswith("a:") for d in choices)
    assert none == f"x:{logs(services)[0].id}"  # "Không phải các câu trên" always ends the list
    assert logs(services)[0].decision == "suggest"
    picked = one(await send(services, "1"))
    entry = services.knowledge.kb.entry(choices[0][2:])
    assert entry is not None
    assert picked.text.startswith(texts.ANSWER_HEADING.format(question=entry.question))
    assert entry.answer.strip() in picked.text


async def test_none_of_the_suggestions_gives_contact_and_keeps_the_question(services: Services) -> None:
    question = query_with(services, Decision.SUGGEST, AMBIGUOUS)
    reply = one(await send(services, question))
    none = data_buttons([reply])[-1]
    assert reply.buttons[-1][0].label == texts.BUTTON_NONE_OF_THESE
    answer = one(await send(services, str(len(data_buttons([reply])))))  # typed number of the last button
    assert services.knowledge.kb.ward.contact_line() in answer.text
    with services.sessions() as s:
        groups = reports.group_unanswered(
            reports.collect_unanswered(session=s, since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        )
    assert [(g.representative, g.not_taken) for g in groups] == [(question, 1)]
    assert none.startswith("x:")


async def test_decline_gives_contact_and_is_logged_for_staff(services: Services) -> None:
    question = query_with(services, Decision.DECLINE, UNRELATED)
    reply = one(await send(services, question))
    assert reply.text.startswith("Xin lỗi, hiện mình chưa có câu trả lời")
    assert services.knowledge.kb.ward.contact_line() in reply.text
    with services.sessions() as s:
        [unanswered] = repo.unanswered_questions(session=s)
        assert unanswered.raw_text == question


async def test_greeting_question_is_still_a_question(services: Services) -> None:
    reply = one(await send(services, "chào bạn, cho hỏi cách cài VNeID"))
    assert "CH Play" in reply.text


async def test_small_talk_gets_friendly_replies_not_logged(services: Services) -> None:
    cases = {
        "Xin chào": "Xin chào bạn",
        "chao ban": "Xin chào bạn",
        "alo": "Xin chào bạn",
        "Cảm ơn bạn nhiều!": texts.THANKS,
        "tks": texts.THANKS,
        "cam on": texts.THANKS,
        "tạm biệt": texts.GOODBYE,
        "bạn là ai?": "Mình là **Trợ lý số**",
        "bot tên gì": "Mình là **Trợ lý số**",
    }
    for said, expected in cases.items():
        assert one(await send(services, said)).text.startswith(expected), said
    assert logs(services) == []


# --- feedback ----------------------------------------------------------------------------------------


async def test_thumbs_up_is_recorded(services: Services) -> None:
    await send(services, "quên mật khẩu vneid")
    [log] = logs(services)
    assert one(await send(services, data=f"fb:{log.id}:1")).text == texts.THANKS_FOR_VOTE
    [fb] = feedback_rows(services)
    assert fb.helpful is True and fb.question_log_id == log.id and fb.entry_id == "vneid-quen-mat-khau"


async def test_a_lone_emoji_rates_the_answer_just_given(services: Services) -> None:
    await send(services, "quên mật khẩu vneid")
    [log] = logs(services)
    assert one(await send(services, "👍")).text == texts.THANKS_FOR_VOTE
    [fb] = feedback_rows(services)
    assert fb.helpful is True and fb.question_log_id == log.id
    await send(services, "quên mật khẩu vneid", user="b")
    assert one(await send(services, " 👎🏻 ", user="b")).text == texts.ASK_COMMENT  # skin tone and spaces too
    assert one(await send(services, "Thiếu bước", user="b")).text == texts.COMMENT_SAVED
    assert [f.helpful for f in feedback_rows(services)] == [True, False]


async def test_emoji_reactions_without_an_answer_get_a_kind_word(services: Services) -> None:
    assert one(await send(services, "👍")).text == texts.REACTION_LIKE
    assert one(await send(services, "❤️")).text == texts.REACTION_LIKE
    assert one(await send(services, "🙏🙏")).text == texts.REACTION_LIKE
    assert one(await send(services, "👎")).text == texts.REACTION_DISLIKE
    assert one(await send(services, "🎉")).text == texts.REACTION_OTHER
    assert feedback_rows(services) == [] and logs(services) == []


async def test_thumbs_down_then_comment(services: Services) -> None:
    await send(services, "quên mật khẩu vneid")
    [log] = logs(services)
    assert one(await send(services, data=f"fb:{log.id}:0")).text == texts.ASK_COMMENT
    assert one(await send(services, "Hướng dẫn thiếu bước xác thực")).text == texts.COMMENT_SAVED
    [fb] = feedback_rows(services)
    assert fb.helpful is False and fb.comment == "Hướng dẫn thiếu bước xác thực"
    assert len(logs(services)) == 1  # the comment was not searched as a question


async def test_thumbs_down_skip_and_expiry(services: Services, advance: Callable[[float], None]) -> None:
    await send(services, "quên mật khẩu vneid")
    [log] = logs(services)
    await send(services, data=f"fb:{log.id}:0")
    assert one(await send(services, "bỏ qua")).text == texts.COMMENT_SKIPPED
    assert feedback_rows(services)[0].comment is None
    await send(services, data=f"fb:{log.id}:0")
    advance(301)
    reply = one(await send(services, "Cách cài đặt ứng dụng VNeID trên điện thoại?"))
    assert "CH Play" in reply.text  # too late: treated as a new question
    assert feedback_rows(services)[0].comment is None


async def test_vote_on_an_entry_opened_from_the_menu(services: Services) -> None:
    await send(services, data="fb:e:bhyt-tre-em:0")
    [fb] = feedback_rows(services)
    assert (fb.entry_id, fb.helpful, fb.question_log_id) == ("bhyt-tre-em", False, None)


async def test_vote_on_someone_elses_question_is_ignored(services: Services) -> None:
    await send(services, "quên mật khẩu vneid", user="owner")
    [log] = logs(services)
    assert one(await send(services, data=f"fb:{log.id}:0", user="stranger")).text == texts.INVALID_BUTTON
    assert feedback_rows(services) == []


# --- invalid input -----------------------------------------------------------------------------------


async def test_unknown_or_stale_buttons_are_refused_politely(services: Services) -> None:
    for data in (
        "zzz", "", ":", "m", "m:cat", "m:cat:nope", "m:cat:vneid:abc", "m:cat:vneid:0", "m:x:y", "a:", "a:nope",
        "fb:abc:1", "fb:1:2", "fb:e:nope:1", "fb:999:1", "del:yes:bad", "del", "x" * 100, "a:" + "é" * 40,
    ):  # fmt: skip
        reply = one(await send(services, data=data))
        assert reply.text in (texts.INVALID_BUTTON, texts.DELETE_EXPIRED), data


async def test_bad_text_gets_a_clear_reply(services: Services) -> None:
    assert one(await send(services, "")).text == texts.EMPTY
    assert one(await send(services, "  \n\t ")).text == texts.EMPTY
    assert one(await send(services, "😀🎉" * 5)).text == texts.NO_WORDS  # a run of emoji is not a reaction
    assert one(await send(services, "???")).text == texts.NO_WORDS
    assert one(await send(services, "\x00\x01\x02???")).text == texts.NO_WORDS  # control characters are dropped
    assert one(await send(services, "\ufffd" * 10 + "ab")).text == texts.JUNK
    long = one(await send(services, "a" * 4001))
    assert long.text == texts.TOO_LONG.format(length=4001, limit=4000)
    assert one(await send(services, None)).text == texts.ONLY_TEXT
    assert logs(services) == []


async def test_text_is_data_not_markup_or_commands(services: Services) -> None:
    reply = one(await send(services, "'; DROP TABLE users; -- {ward} %s"))
    assert reply.text.startswith("Xin lỗi")
    assert logs(services)[0].raw_text == "'; DROP TABLE users; -- {ward} %s"


async def test_unknown_slash_command_shows_help(services: Services) -> None:
    assert "/xoadulieu" in one(await send(services, "/khonghieu")).text


# --- groups and flood ---------------------------------------------------------------------------------


async def test_groups_answer_only_when_addressed(services: Services) -> None:
    assert await send(services, "quên mật khẩu vneid", is_group=True, addressed=False) == []
    assert "Quên mật khẩu" in one(await send(services, "quên mật khẩu vneid", is_group=True, addressed=True)).text


async def test_flood_limit_notices_once_then_silence(services: Services, advance: Callable[[float], None]) -> None:
    for _ in range(20):
        assert await send(services, "xin chào")
        advance(0.1)
    assert one(await send(services, "xin chào")).text == texts.FLOOD
    assert await send(services, "xin chào") == []
    assert await send(services, "xin chào", user="someone-else")
    advance(61)
    assert one(await send(services, "xin chào")).text.startswith("Xin chào bạn")


# --- privacy, subscriptions, staff -------------------------------------------------------------------


async def test_delete_my_data_confirm_is_bound_to_the_user(services: Services) -> None:
    await send(services, "quên mật khẩu vneid", user="me")
    [log] = logs(services)
    await send(services, data=f"fb:{log.id}:0", user="me")
    await send(services, "không rõ", user="me")
    await send(services, "quên mật khẩu vneid", user="other")
    ask = one(await send(services, "/xoadulieu", user="me"))
    assert ask.text == texts.DELETE_EXPLAIN
    confirm_data = data_buttons([ask])[0]
    assert confirm_data.startswith("del:yes:")
    # Someone else pressing the very same button deletes nothing.
    assert one(await send(services, data=confirm_data, user="other")).text == texts.DELETE_EXPIRED
    assert len(logs(services)) == 2
    done = one(await send(services, data=confirm_data, user="me", message_id="9"))
    assert done.text == texts.DELETED and done.edit_message_id == "9"
    with services.sessions() as s:
        assert [u.external_id for u in s.scalars(select(User))] == ["other"]
    assert [log.raw_text for log in logs(services)] == ["quên mật khẩu vneid"]
    assert feedback_rows(services) == []
    # The same button again: nothing pending any more.
    assert one(await send(services, data=confirm_data, user="me")).text == texts.DELETE_EXPIRED


async def test_delete_cancel_and_plain_words(services: Services) -> None:
    ask = one(await send(services, "xóa dữ liệu"))
    cancel = data_buttons([ask])[1]
    assert one(await send(services, data=cancel)).text == texts.DELETE_CANCELLED
    with services.sessions() as s:
        assert repo.get_user(session=s, channel="test", external_id="u1") is not None


async def test_delete_by_typing_the_number(services: Services) -> None:
    await send(services, "/xoadulieu")
    assert one(await send(services, "1")).text == texts.DELETED


async def test_subscribe_and_unsubscribe(services: Services) -> None:
    def subscribed() -> bool:
        with services.sessions() as s:
            user = repo.get_user(session=s, channel="test", external_id="u1")
            return bool(user and user.subscribed)

    assert "/huydangky" in one(await send(services, "/dangky")).text
    assert subscribed()
    assert one(await send(services, "đăng ký")).text == texts.ALREADY_SUBSCRIBED
    assert one(await send(services, "/huydangky")).text == texts.UNSUBSCRIBED
    assert not subscribed()
    assert one(await send(services, "huỷ đăng ký")).text == texts.NOT_SUBSCRIBED


async def test_reload_is_staff_only(services: Services) -> None:
    assert one(await send(services, "/reload")).text == texts.STAFF_ONLY
    assert one(await send(services, "/reload", is_staff=True)).text == texts.RELOAD_OK.format(count=6)


async def test_reload_reports_problems_and_keeps_the_old_base(services: Services) -> None:
    broken = services.knowledge.path / "broken.yaml"
    broken.write_text("category: hong\ntitle: Hỏng\nentries:\n  - id: x\n    varaints: [a]\n", encoding="utf-8")
    reply = one(await send(services, "/reload", is_staff=True))
    assert reply.text.startswith("Không nạp lại được")
    assert "broken.yaml:" in reply.text
    assert "Cơ sở tri thức cũ vẫn đang hoạt động" in reply.text
    assert "CH Play" in one(await send(services, "Cách cài đặt ứng dụng VNeID trên điện thoại?")).text


def test_unofficial_source_is_further_reading_not_the_basis() -> None:
    entry = Entry("vneid-cai-dat", "vneid", "Cài VNeID thế nào?", "Tải ứng dụng VNeID trên CH Play hoặc App Store.")
    page = "https://dichvucong.gov.vn/p/home/dvc-tthc.html"
    official = answer_text(replace(entry, source=page), has_related=False)
    assert f"Nguồn: [dichvucong.gov.vn]({page})" in official
    for unofficial in ("https://dantri.com.vn/cong-nghe/vneid.htm", page.replace("https:", "http:")):
        body = answer_text(replace(entry, source=unofficial), has_related=False)
        assert "Nguồn:" not in body
        assert "Tham khảo thêm (không phải trang của cơ quan nhà nước):" in body and unofficial in body
