"""End to end: signed webhook events over real HTTP into ``serve_zalo``, answers out through the fake Zalo OA API."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from bot.broadcast import service
from bot.broadcast.models import SKIPPED, Delivery
from bot.channels.zalo.api import QUERY_PREFIX
from bot.channels.zalo.models import ZaloToken
from bot.messages import Button, IncomingMessage, Reply
from bot.services import Services
from bot.storage.models import User, utcnow
from handlers import routes, texts
from handlers.broadcast_staff import final_text
from tests.broadcast.conftest import add_subscribers
from tests.fakes.zalo_api import FakeZalo, follow_event, sign_event, text_event
from tests.zalo.conftest import OA_SECRET, PARAGRAPH, ZaloBot, long_answer, running_zalo


async def test_signed_text_gets_the_answer(zalo_bot: ZaloBot) -> None:
    [answer] = await zalo_bot.say("u1", "cài app vneid thế nào")
    assert "CH Play hoặc App Store" in answer.text
    assert "**" not in answer.text  # Markdown rendered to plain text
    payloads = [b["payload"] for b in answer.buttons if b["type"] == "oa.query.hide"]
    assert payloads and all(p.startswith(QUERY_PREFIX) for p in payloads)
    links = [b["payload"]["url"] for b in answer.buttons if b["type"] == "oa.open.url"]
    assert links == [] or all(u.startswith("https://") for u in links)


async def test_header_timestamp_signature_is_accepted(zalo_bot: ZaloBot) -> None:
    event = text_event(zalo_bot.fake.app_id, "u2", "/help", zalo_bot.next_msg_id())
    response = await zalo_bot.post(event, timestamp_from="header")
    assert response.status_code == 200
    [reply] = await zalo_bot.fake.wait_for_sent("u2", 1)
    assert "Cách dùng Trợ lý số" in reply.text


async def test_bad_or_missing_signature_is_refused_and_not_answered(zalo_bot: ZaloBot) -> None:
    event = text_event(zalo_bot.fake.app_id, "u3", "/help", zalo_bot.next_msg_id())
    wrong = sign_event(event, app_id=zalo_bot.fake.app_id, secret="not-the-secret")
    missing = sign_event(event, app_id=zalo_bot.fake.app_id, secret=OA_SECRET)
    del missing.headers["X-ZEvent-Signature"]
    tampered = sign_event(event, app_id=zalo_bot.fake.app_id, secret=OA_SECRET)
    changed = tampered.body.replace(b"help", b"menu")
    for signed, body in ((wrong, wrong.body), (missing, missing.body), (tampered, changed)):
        response = await zalo_bot.client.post(zalo_bot.url, content=body, headers=signed.headers)
        assert response.status_code == 401
    await asyncio.sleep(0.3)
    assert zalo_bot.fake.sends == []
    # The same event, properly signed, is then processed: it was never recorded as seen.
    response = await zalo_bot.client.post(zalo_bot.url, content=tampered.body, headers=tampered.headers)
    assert response.status_code == 200
    await zalo_bot.fake.wait_for_sent("u3", 1)


async def test_same_msg_id_twice_answers_once(zalo_bot: ZaloBot) -> None:
    event = text_event(zalo_bot.fake.app_id, "u4", "/help", "dup-1")
    first, second = await asyncio.gather(zalo_bot.post(event), zalo_bot.post(event))
    assert first.status_code == second.status_code == 200
    await zalo_bot.fake.wait_for_sent("u4", 1)
    third = await zalo_bot.post(event)  # a later retry
    assert third.status_code == 200
    await asyncio.sleep(0.4)
    assert len(zalo_bot.fake.sent_to("u4")) == 1


async def test_expired_token_is_refreshed_and_the_message_delivered(zalo_bot: ZaloBot) -> None:
    zalo_bot.fake.expire_access_token()
    [reply] = await zalo_bot.say("u5", "/help")
    assert "Cách dùng Trợ lý số" in reply.text
    assert [c.error for c in zalo_bot.fake.refreshes] == [0]
    assert zalo_bot.fake.refreshes[0].refresh_token == "refresh-0"
    failed = [c for c in zalo_bot.fake.sends if c.error == -216]
    assert len(failed) == 1 and reply.token == zalo_bot.fake.access_token != failed[0].token
    with zalo_bot.services.sessions() as session:
        row = session.get(ZaloToken, 1)
        assert row is not None
        assert (row.access_token, row.refresh_token) == (zalo_bot.fake.access_token, zalo_bot.fake.refresh_token)
        assert row.access_expires_at is not None and row.access_expires_at > utcnow() + dt.timedelta(hours=24)


async def test_five_thousand_character_answer_arrives_in_three_messages(fake_zalo: FakeZalo, tmp_path: Path) -> None:
    async def handle(msg: IncomingMessage, services: Services) -> list[Reply]:
        if msg.text == "dài":
            return [Reply(text=long_answer(), buttons=((Button("👍 Hữu ích", data="fb:1:1"),),))]
        return await routes.handle(msg, services)

    async with running_zalo(fake_zalo, tmp_path, handle=handle) as bot:
        messages = await bot.say("u6", "dài", count=3)
        await asyncio.sleep(0.3)
        assert len(fake_zalo.sent_to("u6")) == 3
    assert all(len(m.text) <= 2000 for m in messages)
    for n, message in enumerate(messages, start=1):
        assert message.text == PARAGRAPH.format(n=n).strip()  # split on paragraph boundaries
    assert messages[-1].buttons and not messages[0].buttons and not messages[1].buttons


async def test_follow_greets_then_button_tap_and_bare_number_work(zalo_bot: ZaloBot) -> None:
    fake = zalo_bot.fake
    assert (await zalo_bot.post(follow_event(fake.app_id, "u7"))).status_code == 200
    [greeting] = await fake.wait_for_sent("u7", 1)
    assert "/dangky" in greeting.text
    subscribe = next(b for b in greeting.buttons if "dangky" in b["title"])
    # A tap on an oa.query.hide button comes back as a text carrying its payload.
    [subscribed] = await zalo_bot.say("u7", subscribe["payload"])
    assert "đã đăng ký nhận thông báo" in subscribed.text
    with zalo_bot.services.sessions() as session:
        user = session.scalars(select(User).where(User.channel == "zalo", User.external_id == "u7")).one()
        assert user.subscribed and user.is_active
    # The unfollow event marks the user inactive.
    assert (await zalo_bot.post(follow_event(fake.app_id, "u7", "unfollow"))).status_code == 200
    for _ in range(200):
        with zalo_bot.services.sessions() as session:
            user = session.scalars(select(User).where(User.channel == "zalo", User.external_id == "u7")).one()
        if not user.is_active:
            break
        await asyncio.sleep(0.02)
    assert not user.is_active
    # Bare numbers choose among the last buttons: "2" on the greeting is "Xem các chủ đề".
    await zalo_bot.post(follow_event(fake.app_id, "u8"))
    await fake.wait_for_sent("u8", 1)
    [topics] = await zalo_bot.say("u8", "2")
    assert texts.MENU_TOPICS in topics.text


async def test_numbered_choices_when_buttons_do_not_fit(zalo_bot: ZaloBot) -> None:
    zalo_bot.fake.reject_templates = True  # Zalo refusing the template: the same reply arrives as numbered text
    [reply] = await zalo_bot.say("u9", "/help")
    assert reply.buttons == [] and "Gõ 1" not in reply.text
    assert texts.TYPE_TO_CHOOSE.format(numbers="1") in reply.text
    [topics] = await zalo_bot.say("u9", "1")
    assert texts.MENU_TOPICS in topics.text


async def test_broadcast_reaches_only_in_window_subscribers(zalo_bot: ZaloBot) -> None:
    sessions = zalo_bot.services.sessions
    fresh = add_subscribers(sessions, 3, first_id=500, channel="zalo")
    stale = add_subscribers(sessions, 2, first_id=600, channel="zalo")
    with sessions.begin() as session:
        old = utcnow() - dt.timedelta(hours=49)
        session.execute(update(User).where(User.external_id.in_([str(i) for i in stale])).values(last_seen=old))
    broadcast_id = service.create_broadcast(sessions=sessions, text="Lịch tiêm chủng tháng 3", channels=("zalo",))
    assert broadcast_id is not None
    for _ in range(500):
        status = service.broadcast_status(sessions=sessions, broadcast_id=broadcast_id)
        if status is not None and status.status == "done":
            break
        await asyncio.sleep(0.02)
    assert status is not None and status.status == "done"
    assert (status.total, status.sent, status.skipped) == (5, 3, 2)
    notices = [c for c in zalo_bot.fake.delivered() if "Lịch tiêm chủng" in c.text]
    assert sorted(c.user_id for c in notices) == sorted(str(i) for i in fresh)
    with sessions() as session:
        skipped = session.execute(
            select(Delivery.chat_id, Delivery.status, Delivery.reason).where(
                Delivery.broadcast_id == broadcast_id, Delivery.status == SKIPPED
            )
        ).all()
    assert sorted(chat for chat, _, _ in skipped) == sorted(str(i) for i in stale)
    assert all(reason == texts.ZALO_SKIPPED_OUTSIDE_WINDOW for _, _, reason in skipped)
    assert status.skip_reasons == {texts.ZALO_SKIPPED_OUTSIDE_WINDOW: 2}
    report = final_text(status)  # what the staff member reads at the end
    assert texts.NOTICE_SKIP_REASON.format(count=2, reason=texts.ZALO_SKIPPED_OUTSIDE_WINDOW) in report
