"""Citizen and staff handlers of announcements on plain messages: real services, SQLite, no channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.broadcast.models import Broadcast, Delivery
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.routes import handle
from handlers.subscriptions import notice_reply
from handlers.ui import data_buttons

STAFF = "999"


async def send(
    services: Services,
    text: str | None = None,
    *,
    data: str | None = None,
    user: str = "u1",
    staff: bool = False,
    message_id: str | None = None,
) -> list[Reply]:
    """One message from ``user`` on the test channel; every button payload must fit 64 bytes."""
    msg = IncomingMessage(
        channel="telegram",
        user_id=user,
        chat_id=user,
        text=text,
        button_data=data,
        is_staff=staff,
        message_id=message_id,
    )
    replies = await handle(msg, services)
    for reply in replies:
        for row in reply.buttons:
            for b in row:
                assert b.data is None or len(b.data.encode()) <= 64
    return replies


def broadcasts(services: Services) -> list[Broadcast]:
    with services.sessions() as s:
        return list(s.scalars(select(Broadcast).order_by(Broadcast.id)))


def deliveries(services: Services) -> list[Delivery]:
    with services.sessions() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


async def subscribe(services: Services, *users: str) -> None:
    for user in users:
        await send(services, "/dangky", user=user)


async def test_subscribe_offers_topic_and_area_buttons_and_toggles(services: Services) -> None:
    reply = (await send(services, "/dangky"))[0]
    assert "/huydangky" in reply.text and "tất cả các chủ đề" in reply.text
    data = data_buttons([reply])
    assert "sub:t:lua-dao" in data and "sub:ok" in data
    toggled = (await send(services, data="sub:t:lua-dao", message_id="7"))[0]
    assert toggled.edit_message_id == "7"
    assert "Cảnh báo lừa đảo" not in toggled.text.split("\n")[0]
    sub = await services.broadcasts.subscription(channel="telegram", external_id="u1")
    assert sub.subscribed and sub.topics == ("chung", "dich-vu-cong")
    assert await services.broadcasts.count_recipients(topic="lua-dao", area=None) == 0
    assert await services.broadcasts.count_recipients(topic="chung", area=None) == 1
    back = (await send(services, data="sub:t:lua-dao"))[0]
    assert "tất cả các chủ đề" in back.text
    assert (await services.broadcasts.subscription(channel="telegram", external_id="u1")).topics == ()


async def test_unsubscribe_button_under_every_notice(services: Services) -> None:
    await subscribe(services, "u1")
    notice = notice_reply("Lịch tiêm chủng tháng 3")
    assert notice.text.startswith("Lịch tiêm chủng tháng 3")
    assert data_buttons([notice]) == ["unsub"]
    reply = (await send(services, data="unsub"))[0]
    assert reply.text == texts.UNSUBSCRIBED
    assert not (await services.broadcasts.subscription(channel="telegram", external_id="u1")).subscribed
    again = (await send(services, data="sub:on"))[0]
    assert "/huydangky" in again.text


async def test_non_staff_thongbao_is_refused_and_creates_nothing(services: Services) -> None:
    await subscribe(services, "u1", "u2")
    reply = (await send(services, "/thongbao Lừa đảo mới!", user="u2"))[0]
    assert reply.text == texts.STAFF_ONLY
    assert (await send(services, data="tb:go", user="u2"))[0].text == texts.STAFF_ONLY
    assert broadcasts(services) == []


async def test_thongbao_preview_confirm_sends_once(services: Services) -> None:
    await subscribe(services, "u1", "u2", "u3")
    replies = await send(services, "/thongbao Từ 01/4 nhận hồ sơ sáng thứ Bảy.", user=STAFF, staff=True)
    assert len(replies) == 3
    assert replies[1] == notice_reply("Từ 01/4 nhận hồ sơ sáng thứ Bảy.")  # exactly what citizens get
    assert "**Số người sẽ nhận (hiện tại):** 3" in replies[2].text
    assert broadcasts(services) == []  # nothing before the confirm
    panel = (await send(services, data="tb:now", user=STAFF, staff=True, message_id="50"))[0]
    assert "tb:go" in data_buttons([panel])
    assert broadcasts(services) == []
    started = (await send(services, data="tb:go", user=STAFF, staff=True, message_id="50"))[0]
    assert "#1" in started.text and started.edit_message_id == "50"
    twice = (await send(services, data="tb:go", user=STAFF, staff=True, message_id="50"))[0]
    assert twice.text == texts.NOTICE_EXPIRED
    [row] = broadcasts(services)
    assert row.status == "sending" and row.total == 3 and row.progress_message_id == "50"
    assert sorted(d.chat_id for d in deliveries(services)) == ["u1", "u2", "u3"]


async def test_thongbao_topic_choice_filters_recipients(services: Services) -> None:
    await subscribe(services, "u1", "u2")
    await send(services, data="sub:t:lua-dao", user="u2")  # u2 no longer wants scam warnings
    await send(services, "/thongbao Cảnh báo cuộc gọi giả danh công an", user=STAFF, staff=True)
    panel = (await send(services, data="tb:t:lua-dao", user=STAFF, staff=True))[0]
    assert "**Số người sẽ nhận (hiện tại):** 1" in panel.text
    await send(services, data="tb:now", user=STAFF, staff=True)
    await send(services, data="tb:go", user=STAFF, staff=True)
    assert [d.chat_id for d in deliveries(services)] == ["u1"]


async def test_schedule_flow_and_lichthongbao_cancel(services: Services, clock: Any) -> None:
    await subscribe(services, "u1")
    await send(services, "/thongbao Họp tổ dân phố tối thứ Sáu", user=STAFF, staff=True)
    ask = (await send(services, data="tb:later", user=STAFF, staff=True))[0]
    assert "ngày/tháng/năm" in ask.text
    bad = (await send(services, "ngày mai", user=STAFF, staff=True))[0]
    assert "Chưa đọc được" in bad.text
    past = (await send(services, "01/01/2020 08:00", user=STAFF, staff=True))[0]
    assert past.text == texts.NOTICE_PAST_TIME
    confirm = (await send(services, "02/03/2026 15:30", user=STAFF, staff=True))[0]
    assert "15:30 ngày 02/03/2026" in confirm.text
    done = (await send(services, data="tb:go", user=STAFF, staff=True))[0]
    assert "Đã hẹn" in done.text
    [row] = broadcasts(services)
    assert row.status == "scheduled" and row.scheduled_at is not None
    assert row.scheduled_at.isoformat() == "2026-03-02T08:30:00+00:00"  # 15:30 in Asia/Ho_Chi_Minh
    assert deliveries(services) == []
    listing = (await send(services, "/lichthongbao", user=STAFF, staff=True))[0]
    assert "#1" in listing.text and data_buttons([listing]) == ["tb:c:1"]
    assert (await send(services, "/lichthongbao", user="u1"))[0].text == texts.STAFF_ONLY
    cancelled = (await send(services, data="tb:c:1", user=STAFF, staff=True))[0]
    assert cancelled.text == texts.BROADCAST_CANCELLED.format(id=1)
    assert broadcasts(services)[0].status == "cancelled"
    assert (await send(services, "/lichthongbao", user=STAFF, staff=True))[0].text == texts.SCHEDULE_EMPTY


async def test_staff_table_lets_a_colleague_broadcast(services: Services) -> None:
    assert (await send(services, "/thongbao xin chào", user="555"))[0].text == texts.STAFF_ONLY
    assert (await send(services, "/themcanbo 555", user="555"))[0].text == texts.STAFF_ONLY
    added = (await send(services, "/themcanbo 555", user=STAFF, staff=True))[0]
    assert added.text == texts.STAFF_ADDED.format(id="555")
    assert len(await send(services, "/thongbao xin chào", user="555")) == 3
    assert "555" in (await send(services, "/canbo", user="555"))[0].text
    assert (await send(services, "/xoacanbo 555", user=STAFF, staff=True))[0].text == texts.STAFF_REMOVED.format(
        id="555"
    )
    assert (await send(services, "/thongbao xin chào", user="555"))[0].text == texts.STAFF_ONLY
