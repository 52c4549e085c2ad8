"""The forward path end to end: python-telegram-bot against the fake Bot API, a forwarded SMS in, a verdict out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers import texts
from tests.channels.test_telegram_e2e import make_settings, start_bot, stop_bot
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1."""
    with FakeTelegram() as server:
        yield server


def forwarded_from(name: str) -> dict[str, object]:
    """Telegram's origin of a message forwarded from a user who hides their account."""
    return {"type": "hidden_user", "sender_user_name": name, "date": int(time.time()) - 60}


async def test_forwarded_messages_are_checked(fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path) -> None:
    bot = await start_bot(fake_telegram, make_settings(fake_telegram, kb_dir, tmp_path))
    try:
        sms = "Cong an TP: ban lien quan duong day rua tien, chuyen toan bo tien vao tai khoan an toan de xac minh."
        reply = await bot.say(2001, sms, forward_origin=forwarded_from("Số lạ"))
        html = str(reply.params["text"])
        assert html.startswith("🔴 <b>Nguy hiểm")
        assert "tài khoản an toàn" in html and "canhbao.khonggianmang.vn" in html
        callbacks = [b.get("callback_data") for b in fake_telegram.buttons(reply)]
        assert "a:lua-dao-chuyen-tien-tai-khoan-an-toan" in callbacks

        # an ordinary forwarded line is still checked (green, never "safe"); typed by the user it is not
        chat = "Tối nay cả nhà qua bà ăn cơm nhé"
        green = await bot.say(2001, chat, forward_origin=forwarded_from("Mẹ"))
        assert fake_telegram.visible_text(green).startswith("🟢 Chưa thấy dấu hiệu")
        typed = await bot.say(2001, chat)
        assert not any(fake_telegram.visible_text(typed).startswith(v[:1]) for v in texts.SCAM_LEVEL.values())

        command = await bot.say(2001, "/kiemtra https://vnеid.gov.vn/kich-hoat")
        assert fake_telegram.visible_text(command).startswith("🔴")
    finally:
        await stop_bot(bot)
