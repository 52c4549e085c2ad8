"""Messenger's pure parts: signatures, event parsing, rendering replies within the Send API's limits, error mapping."""

from __future__ import annotations

import json
from pathlib import Path

from bot.channel import ChannelHost
from bot.channels.messenger.api import (
    MAX_QUICK_REPLIES,
    MessengerTokenError,
    OutsideWindow,
    render_reply,
    to_delivery_error,
)
from bot.channels.messenger.channel import MessengerChannel
from bot.channels.messenger.webhook import MessengerEventIn, parse_events, sign, verify_signature
from bot.messages import Button, IncomingMessage, PermanentError, RateLimited, RecipientBlocked, Reply, TransientError
from bot.services import build_services
from bot.settings import Settings
from handlers import texts
from tests.conftest import write_knowledge
from tests.fakes.graph_api import (
    OUTSIDE_WINDOW,
    RATE_LIMITED,
    TEMPORARY,
    TOKEN_EXPIRED,
    UNAVAILABLE,
    FakeGraph,
    check_body,
    page_body,
    postback_item,
    signature,
    text_item,
)

SECRET = "app-secret-TEST"


def test_signature_matches_metas_and_refuses_tampering() -> None:
    body = page_body(text_item("u1", "xin chào", "mid.1"))
    assert sign(body, SECRET) == signature(body, SECRET)
    assert verify_signature(body, signature(body, SECRET), SECRET)
    assert verify_signature(body, signature(body, SECRET).upper().replace("SHA256=", "sha256="), SECRET)
    assert not verify_signature(body + b" ", signature(body, SECRET), SECRET)
    assert not verify_signature(body, signature(body, "other"), SECRET)
    assert not verify_signature(body, None, SECRET)
    assert not verify_signature(body, "sha256=", SECRET)
    assert not verify_signature(body, signature(body, SECRET), "")  # no secret configured: nothing passes
    assert not verify_signature(body, "sha256=ừ" * 10, SECRET)


def test_batched_entries_parse_in_order_and_skip_what_the_bot_ignores() -> None:
    echo = text_item("page", "tin của trang", "mid.echo")
    echo["message"]["is_echo"] = True
    read = {"sender": {"id": "u1"}, "recipient": {"id": "p"}, "read": {"watermark": 1}}
    body = page_body(
        text_item("u1", "cấp lại căn cước", "mid.1"),
        echo,
        read,
        postback_item("u2", "a:vneid-1", "mid.2"),
        text_item("u1", "2", "mid.3", quick_payload="a:x"),
        entries=2,
    )
    events = parse_events(json.loads(body))
    assert [(e.sender_id, e.mid) for e in events] == [("u1", "mid.1"), ("u1", "mid.3"), ("u2", "mid.2")]
    assert events[0].text == "cấp lại căn cước" and events[0].payload is None
    assert events[1].payload == "a:x"
    assert events[2].payload == "a:vneid-1" and events[2].text is None


def test_junk_bodies_parse_to_nothing() -> None:
    for junk in (None, [], "x", 1, {"object": "user"}, {"object": "page", "entry": "x"},
                 {"object": "page", "entry": [{"messaging": [1, None, {"sender": 5}, {"sender": {"id": 7}}]}]}):
        assert parse_events(junk) == []


def test_attachment_without_text_is_kept_as_an_attachment() -> None:
    item = text_item("u1", "", "mid.9")
    item["message"] = {"mid": "mid.9", "attachments": [{"type": "image", "payload": {"url": "https://x"}}]}
    [event] = parse_events({"object": "page", "entry": [{"messaging": [item]}]})
    assert event.attachment and event.text is None


def _body(message: dict[str, object]) -> dict[str, object]:
    return {"recipient": {"id": "u"}, "messaging_type": "RESPONSE", "message": message}


def test_long_answer_is_split_within_the_text_limit() -> None:
    paragraph = "Bước một: chuẩn bị giấy tờ và nộp hồ sơ trực tuyến. " * 20
    reply = Reply(text="\n\n".join([paragraph] * 5), buttons=((Button("👍", data="fb:1:1"),),))
    messages = render_reply(reply)
    assert len(messages) >= 3
    assert all(check_body(_body(m)) is None for m in messages)
    assert "quick_replies" in messages[-1] and all("quick_replies" not in m for m in messages[:-1])
    assert "".join(m["text"] for m in messages).count("Bước một") == 100


def test_short_labels_become_quick_replies_as_they_are() -> None:
    reply = Reply(text="Câu trả lời", buttons=((Button("👍", data="fb:1:1"), Button("👎", data="fb:1:0")),))
    [message] = render_reply(reply)
    assert message["quick_replies"] == [
        {"content_type": "text", "title": "👍", "payload": "fb:1:1"},
        {"content_type": "text", "title": "👎", "payload": "fb:1:0"},
    ]
    assert message["text"] == "Câu trả lời"


def test_long_labels_are_written_out_numbered_and_quick_replies_carry_numbers() -> None:
    labels = [
        "Làm thế nào để cấp lại thẻ căn cước khi bị mất?", "Đăng ký khai sinh trực tuyến", "Không phải các câu trên",
    ]
    reply = Reply(text="Có phải bạn muốn hỏi:", buttons=tuple((Button(label, data=f"a:{n}"),) for n, label in
                                                             enumerate(labels)))
    [message] = render_reply(reply)
    assert check_body(_body(message)) is None
    for n, label in enumerate(labels, 1):
        assert f"{n}. {label}" in message["text"]
    assert texts.TYPE_TO_CHOOSE.format(numbers=f"1, 2 {texts.OR} 3") in message["text"]
    assert [q["title"] for q in message["quick_replies"]] == ["1", "2", "3"]
    assert [q["payload"] for q in message["quick_replies"]] == ["a:0", "a:1", "a:2"]


def test_more_choices_than_quick_replies_stay_reachable_by_number() -> None:
    buttons = tuple((Button(f"Chủ đề số {n}", data=f"m:{n}"),) for n in range(20))
    [message] = render_reply(Reply(text="Chọn chủ đề", buttons=buttons))
    assert check_body(_body(message)) is None
    assert len(message["quick_replies"]) == MAX_QUICK_REPLIES
    assert "20. Chủ đề số 19" in message["text"]


def test_links_are_written_out_and_unsafe_ones_dropped() -> None:
    reply = Reply(text="Xem nguồn", buttons=((Button("Nguồn", url="https://dichvucong.gov.vn/p"),
                                              Button("Xấu", url="javascript:alert(1)")),))
    [message] = render_reply(reply)
    assert "Nguồn: https://dichvucong.gov.vn/p" in message["text"]
    assert "javascript" not in message["text"] and "quick_replies" not in message


def _error(spec: tuple[int, int, int | None, str]) -> Exception:
    status, code, sub, message = spec
    detail: dict[str, object] = {"message": message, "code": code}
    if sub is not None:
        detail["error_subcode"] = sub
    return to_delivery_error(status, {"error": detail})


def test_send_api_errors_map_to_what_can_be_retried() -> None:
    assert isinstance(_error(TOKEN_EXPIRED), MessengerTokenError)
    assert isinstance(_error(OUTSIDE_WINDOW), OutsideWindow)
    assert isinstance(_error(UNAVAILABLE), RecipientBlocked)
    assert isinstance(_error(RATE_LIMITED), RateLimited)
    assert isinstance(_error(TEMPORARY), TransientError)
    assert isinstance(to_delivery_error(502, None), TransientError)
    assert type(_error((400, 100, None, "bad param"))) is PermanentError


async def test_a_refused_page_token_alerts_staff_once(tmp_path: Path) -> None:
    with FakeGraph(page_token="page-token-TEST") as graph:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            knowledge_dir=write_knowledge(tmp_path / "kb"), messenger_page_access_token="page-token-TEST",
            messenger_app_secret=SECRET, messenger_api_base_url=graph.base_url,
        )
        services = build_services(settings)
        alerts: list[str] = []

        async def alert_staff(text: str) -> None:
            alerts.append(text)

        async def handle(msg: IncomingMessage) -> list[Reply]:
            return [Reply(text=f"trả lời: {msg.text}")]

        channel = MessengerChannel(settings, ChannelHost(services=services, handle=handle, alert_staff=alert_staff))
        try:
            sent = await channel.process(MessengerEventIn(sender_id="u1", mid="m1", text="xin chào"))
            assert [m.message_id for m in sent] and graph.sent_to("u1")[0].text == "trả lời: xin chào"
            graph.token_valid = False
            for n in range(3):
                assert await channel.process(MessengerEventIn(sender_id="u1", mid=f"m-expired-{n}", text="?")) == []
            assert len(alerts) == 1 and "MESSENGER_PAGE_ACCESS_TOKEN" in alerts[0]
            assert "page-token-TEST" not in alerts[0]
        finally:
            await channel.stop()
            services.close()
