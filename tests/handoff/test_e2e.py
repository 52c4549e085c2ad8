"""Questions for staff and citizens' reports, end to end: python-telegram-bot against the fake Bot API, the Zalo
channel against its fake, the whole bot (``serve``) with Telegram and Zalo, a staff group, SQLite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.app import serve
from bot.broadcast.service import add_staff
from bot.handoff.drafts import DRAFTS_FILE
from bot.kb.loader import load_knowledge
from bot.kb.problems import Severity
from bot.services import Services, build_services
from bot.settings import Settings
from handlers import texts
from handlers.handoff import remind
from tests.fakes.telegram_api import Call, FakeTelegram, free_port
from tests.fakes.zalo_api import FakeZalo, sign_event, text_event

GROUP = -100777
ADMIN, STAFF, OUTSIDER, CITIZEN, CITIZEN_2 = 999, 998, 555, 1001, 1002
OA_SECRET = "oa-secret-TEST"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Ward:
    """The running bot, the two fakes and a few helpers that act as citizens and staff."""

    tg: FakeTelegram
    zalo: FakeZalo
    settings: Settings
    services: Services
    stop: asyncio.Event
    task: asyncio.Task[int]
    http: httpx.AsyncClient
    counter: int = 0

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> Call:
        """A Telegram user writes; the bot's first new message in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.inject_message(chat_id=chat_id, text=text, **kwargs)
        return (await self.tg.wait_for_sent(before + 1, chat_id))[before]

    async def press(self, chat_id: int, data: str, **kwargs: Any) -> Call:
        """A Telegram user presses a button; the bot's first new message in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.inject_callback(chat_id=chat_id, data=data, **kwargs)
        return (await self.tg.wait_for_sent(before + 1, chat_id))[before]

    async def in_group(self, user_id: int, text: str, reply_to: int) -> Call:
        """A group member replies to the bot's message ``reply_to``; the bot's next message in the group."""
        before = len(self.tg.sent(GROUP))
        self.tg.inject_message(chat_id=GROUP, user_id=user_id, text=text, chat_type="supergroup",
                               reply_to_bot_message_id=reply_to)
        return (await self.tg.wait_for_sent(before + 1, GROUP))[before]

    async def group_message(self, count: int) -> Call:
        """The ``count``-th message the bot posted in the staff group (1-based)."""
        return (await self.tg.wait_for_sent(count, GROUP))[count - 1]

    async def zalo_says(self, user_id: str, text: str) -> None:
        """A Zalo citizen writes to the OA (a signed webhook event)."""
        self.counter += 1
        event = text_event(self.zalo.app_id, user_id, text, f"zmsg-{self.counter}")
        signed = sign_event(event, app_id=self.zalo.app_id, secret=OA_SECRET)
        url = f"http://127.0.0.1:{self.settings.http_port}/zalo/webhook"
        assert (await self.http.post(url, content=signed.body, headers=signed.headers)).status_code == 200

    def text(self, call: Call) -> str:
        """What the user sees."""
        return self.tg.visible_text(call)

    def data(self, call: Call) -> list[str]:
        """The callback data of a message's buttons."""
        return [str(b["callback_data"]) for b in self.tg.buttons(call) if "callback_data" in b]


def ward_settings(tg: FakeTelegram, zalo: FakeZalo, tmp_path: Path, **extra: Any) -> Settings:
    """Telegram + Zalo + a staff group, on a SQLite file and the shared test knowledge."""
    from tests.conftest import write_knowledge

    values: dict[str, Any] = {
        "telegram_bot_token": "123:TEST", "telegram_api_base_url": tg.base_url,
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}", "knowledge_dir": write_knowledge(tmp_path / "kb"),
        "http_port": free_port(), "admin_telegram_ids": frozenset({ADMIN}), "staff_group_chat_id": GROUP,
        "office_hours": "", "zalo_app_id": zalo.app_id, "zalo_app_secret": zalo.app_secret,
        "zalo_oa_secret_key": OA_SECRET, "zalo_oa_access_token": zalo.access_token,
        "zalo_oa_refresh_token": zalo.refresh_token, "zalo_api_base_url": zalo.base_url,
        "zalo_oauth_base_url": zalo.base_url, "handoff_remind_minutes": 0,
    }  # fmt: skip
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def fakes() -> Any:
    """The fake Bot API and the fake Zalo API."""
    with FakeTelegram() as tg, FakeZalo() as zalo:
        yield tg, zalo


async def start_ward(tg: FakeTelegram, zalo: FakeZalo, settings: Settings,
                     clock: Callable[[], dt.datetime] | None = None) -> Ward:
    """Start the whole bot and wait until Telegram polls and the HTTP server answers."""
    services = build_services(settings, clock=clock) if clock else build_services(settings)
    add_staff(sessions=services.sessions, channel="telegram", external_id=str(STAFF))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, services, stop=stop, host="127.0.0.1"))
    await tg.wait_for(lambda: bool(tg.calls_to("getupdates", ok=None)) or task.done(), 20)
    assert not task.done(), "the bot stopped during startup"
    http = httpx.AsyncClient(timeout=10)
    for _ in range(500):
        try:
            if (await http.get(f"http://127.0.0.1:{settings.http_port}/healthz")).status_code == 200:
                break
        except httpx.HTTPError:
            await asyncio.sleep(0.02)
    return Ward(tg, zalo, settings, services, stop, task, http)


async def stop_ward(ward: Ward) -> None:
    """Stop the bot cleanly."""
    ward.stop.set()
    assert await asyncio.wait_for(ward.task, 15) == 0
    await ward.http.aclose()


@pytest.fixture
async def ward(fakes: Any, tmp_path: Path) -> AsyncIterator[Ward]:
    """The ward's bot with Telegram, Zalo and a staff group; staff answer at any time."""
    tg, zalo = fakes
    running = await start_ward(tg, zalo, ward_settings(tg, zalo, tmp_path))
    yield running
    await stop_ward(running)


def mid(call: Call) -> int:
    """The message id the bot got for a sent message."""
    return int(call.result["message_id"])


async def test_a_telegram_question_is_answered_by_staff_and_saved_as_a_draft(ward: Ward) -> None:
    told = await ward.say(CITIZEN, "/hoicanbo Nhà tôi bị ngập do cống tắc, phường có hỗ trợ nạo vét không?")
    assert texts.HANDOFF_SENT.format(id=1)[:40] in ward.text(told)
    relay = await ward.group_message(1)
    shown = ward.text(relay)
    assert "cống tắc" in shown and "Telegram" in shown and str(CITIZEN) not in shown  # anonymous label
    assert ward.data(relay) == ["hc:c:1"]

    done = await ward.in_group(ADMIN, "Phường sẽ cử tổ vệ sinh nạo vét trong tuần này.", mid(relay))
    assert texts.HANDOFF_DELIVERED.format(id=1) in ward.text(done)
    assert ward.data(done) == ["hc:kb:1"]
    [answer] = (await ward.tg.wait_for_sent(2, CITIZEN))[1:]
    assert "Cán bộ phường trả lời" in ward.text(answer) and "nạo vét trong tuần" in ward.text(answer)

    saved = await ward.press(GROUP, "hc:kb:1", user_id=ADMIN)
    assert DRAFTS_FILE in ward.text(saved)
    loaded = load_knowledge(ward.settings.knowledge_dir)
    assert loaded.kb is not None and not loaded.errors
    assert all(not e.id.startswith("de-xuat") for e in loaded.kb.entries)  # drafts are never live
    draft = (ward.settings.knowledge_dir / DRAFTS_FILE).read_text(encoding="utf-8")
    assert "nạo vét trong tuần" in draft and "cống tắc" in draft
    assert not [p for p in loaded.problems if DRAFTS_FILE in p.file and p.severity is Severity.ERROR]


async def test_a_zalo_question_is_answered_back_on_zalo(ward: Ward) -> None:
    await ward.zalo_says("zalo-citizen-1", "hoi can bo")
    [ask] = await ward.zalo.wait_for_sent("zalo-citizen-1", 1)
    assert ask.text == texts.HANDOFF_ASK_WHAT
    await ward.zalo_says("zalo-citizen-1", "Tôi muốn đăng ký hộ kinh doanh thì cần mang gì đến phường?")
    told = await ward.zalo.wait_for_sent("zalo-citizen-1", 2)
    assert "đã chuyển câu hỏi" in told[1].text
    relay = await ward.group_message(1)
    assert "Zalo" in ward.text(relay) and "hộ kinh doanh" in ward.text(relay)
    await ward.in_group(STAFF, "Bạn mang căn cước và giấy đề nghị đến bộ phận một cửa.", mid(relay))
    answers = await ward.zalo.wait_for_sent("zalo-citizen-1", 3)
    assert "Cán bộ phường trả lời" in answers[2].text and "bộ phận một cửa" in answers[2].text


async def test_two_staff_claim_the_same_question_and_only_one_wins(ward: Ward) -> None:
    await ward.say(CITIZEN, "/hoicanbo Lịch tiếp công dân của chủ tịch phường là khi nào?")
    relay = await ward.group_message(1)
    before = len(ward.tg.sent(GROUP))
    ward.tg.inject_callback(chat_id=GROUP, data="hc:c:1", user_id=ADMIN)
    ward.tg.inject_callback(chat_id=GROUP, data="hc:c:1", user_id=STAFF)
    texts_seen = [ward.text(c) for c in (await ward.tg.wait_for_sent(before + 2, GROUP))[before:]]
    winners = [t for t in texts_seen if "đã nhận câu hỏi #1" in t]
    losers = [t for t in texts_seen if "đã do" in t]
    assert len(winners) == 1 and len(losers) == 1, texts_seen
    ticket = await ward.services.handoff.ticket(1)
    assert ticket is not None and ticket.claimed_by in (str(ADMIN), str(STAFF))
    loser = STAFF if ticket.claimed_by == str(ADMIN) else ADMIN
    refused = await ward.in_group(loser, "Tôi trả lời luôn nhé", mid(relay))
    assert "đã do" in ward.text(refused)
    await asyncio.sleep(0.3)
    assert len(ward.tg.sent(CITIZEN)) == 1  # only "sent to staff": no answer from the loser


async def test_someone_outside_staff_cannot_answer_citizens(ward: Ward) -> None:
    await ward.say(CITIZEN, "/hoicanbo Xin hỏi thủ tục xin giấy phép sửa nhà?")
    relay = await ward.group_message(1)
    refused = await ward.in_group(OUTSIDER, "Cứ sửa đi không sao đâu", mid(relay))
    assert ward.text(refused) == texts.HANDOFF_ONLY_STAFF
    claim = await ward.press(GROUP, "hc:c:1", user_id=OUTSIDER)
    assert ward.text(claim) == texts.HANDOFF_ONLY_STAFF
    await asyncio.sleep(0.3)
    assert len(ward.tg.sent(CITIZEN)) == 1
    ticket = await ward.services.handoff.ticket(1)
    assert ticket is not None and ticket.claimed_by is None and ticket.answer is None


async def test_outside_office_hours_the_citizen_is_told_when_to_expect_an_answer(fakes: Any, tmp_path: Path) -> None:
    tg, zalo = fakes
    saturday_evening = dt.datetime(2026, 12, 5, 20, 0, tzinfo=TZ).astimezone(dt.UTC)
    settings = ward_settings(tg, zalo, tmp_path, office_hours="mon-fri 07:30-11:30,13:30-17:00")
    ward = await start_ward(tg, zalo, settings, clock=lambda: saturday_evening)
    try:
        told = ward.text(await ward.say(CITIZEN, "/hoicanbo Cho hỏi thủ tục chứng thực bản sao?"))
        assert "ngoài giờ làm việc" in told and "07:30 thứ Hai, ngày 07/12/2026" in told
    finally:
        await stop_ward(ward)


async def test_a_waiting_question_is_reminded_to_the_group_once(ward: Ward) -> None:
    await ward.say(CITIZEN, "/hoicanbo Cho hỏi lịch tiêm chủng cho trẻ tháng này?")
    await ward.group_message(1)
    assert await remind(ward.services, dt.timedelta(0)) == 1
    reminder = await ward.group_message(2)
    assert "#1" in ward.text(reminder) and ward.data(reminder) == ["hc:c:1"]
    assert await remind(ward.services, dt.timedelta(0)) == 0
    queue = ward.text(await ward.say(ADMIN, "/hangdoi"))
    assert "Câu hỏi #1" in queue and texts.QUEUE_UNCLAIMED in queue
    assert ward.text(await ward.say(OUTSIDER, "/hangdoi")) == texts.STAFF_ONLY


async def test_a_report_with_a_photo_is_filed_assigned_answered_and_closed(ward: Ward) -> None:
    start = await ward.say(CITIZEN, "/phananh")
    assert "pa:t:moi-truong" in ward.data(start)
    await ward.press(CITIZEN, "pa:t:moi-truong")
    ask_location = await ward.say(CITIZEN, "Rác thải đổ trộm thành đống lớn ở đầu ngõ, bốc mùi mấy ngày nay")
    assert "pa:skip" in ward.data(ask_location)
    await ward.say(CITIZEN, "Đầu ngõ 12 đường Lê Lợi, tổ 5")
    ask_contact = await ward.say(CITIZEN, "", photo_file_id="AgADBAADphoto42")
    assert "liên hệ" in ward.text(ask_contact)
    confirm = await ward.press(CITIZEN, "pa:skip")
    assert "có 1 ảnh" in ward.text(confirm) and "pa:ok" in ward.data(confirm)
    received = ward.text(await ward.press(CITIZEN, "pa:ok"))
    year = dt.datetime.now(TZ).year
    code = f"PA-{year}-00001"
    assert code in received

    photos = ward.tg.calls_to("sendphoto")
    assert len(photos) == 1 and photos[0].params["photo"] == "AgADBAADphoto42"
    assert int(photos[0].params["chat_id"]) == GROUP
    report = await ward.group_message(1)
    assert code in ward.text(report) and "Lê Lợi" in ward.text(report)
    assert ward.data(report) == ["pa:as:1", "pa:cl:1"]

    assigned = await ward.press(GROUP, "pa:as:1", user_id=STAFF)
    assert code in ward.text(assigned)
    again = await ward.press(GROUP, "pa:as:1", user_id=ADMIN)
    assert "đã do" in ward.text(again)
    await ward.in_group(STAFF, "Tổ vệ sinh môi trường sẽ thu gom trong chiều nay.", mid(report))
    closed = await ward.press(GROUP, "pa:cl:1", user_id=STAFF)
    assert code in ward.text(closed)

    citizen = [ward.text(c) for c in await ward.tg.wait_for_sent(9, CITIZEN)]
    updates = citizen[-3:]
    assert "tiếp nhận" in updates[0]
    assert "thu gom trong chiều nay" in updates[1]
    assert "đóng lại" in updates[2]

    status = ward.text(await ward.say(CITIZEN, f"/tracuu {code.lower()}"))
    assert code in status and "đã xử lý xong" in status and "thu gom" in status
    other = ward.text(await ward.say(CITIZEN_2, f"/tracuu {code}"))
    assert other == texts.TRACK_NOT_FOUND.format(code=code)


async def test_a_handoff_survives_a_restart(fakes: Any, tmp_path: Path) -> None:
    tg, zalo = fakes
    settings = ward_settings(tg, zalo, tmp_path)
    first = await start_ward(tg, zalo, settings)
    await first.say(CITIZEN, "/hoicanbo Giấy xác nhận cư trú lấy ở đâu?")
    relay = await first.group_message(1)
    await stop_ward(first)
    second = await start_ward(tg, zalo, settings)
    try:
        done = await second.in_group(ADMIN, "Bạn lấy trên VNeID hoặc tại công an phường.", mid(relay))
        assert texts.HANDOFF_DELIVERED.format(id=1) in second.text(done)
        answers = await tg.wait_for_sent(2, CITIZEN)
        assert "VNeID hoặc tại công an phường" in second.text(answers[1])
    finally:
        await stop_ward(second)


async def test_notices_go_to_every_running_channel(ward: Ward) -> None:
    assert ward.services.broadcasts.channels == ("telegram", "zalo")
