"""One authorization rule in the routing table, and typed button payloads: forged data gets a polite answer."""

from __future__ import annotations

import logging

import pytest

from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.payloads import pack, unpack
from handlers.routes import handle


async def send(services: Services, text: str | None = None, *, data: str | None = None, user: str = "u1",
               staff: bool = False) -> list[Reply]:
    msg = IncomingMessage(channel="telegram", user_id=user, chat_id=user, text=text, button_data=data,
                          is_staff=staff)
    return await handle(msg, services)


def test_pack_and_unpack_check_every_shape() -> None:
    assert pack("m", "cat", "vneid", 2) == "m:cat:vneid:2"
    assert unpack("fb:123:1") is not None and unpack("fb:e:vneid-la-gi:0") is not None
    for forged in ("fb:99999999999:1", "m:cat:vneid:²", "m:cat:VNEID", "a:", "fb:1:2", "tb:go:1", "zz:1", "x:abc",
                   "del:yes:" + "a" * 60, "m:root:", "sub:t:chung\u0000"):
        assert unpack(forged) is None, forged
    with pytest.raises(ValueError):
        pack("a", "x" * 70)


@pytest.mark.parametrize("data", ["fb:99999999999:1", "m:cat:vneid:²", "a:khong-co", "tb:now", "zz:1"])
async def test_forged_buttons_get_a_polite_answer(
    services: Services, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        replies = await send(services, data=data)
    assert replies and replies[0].text in (texts.INVALID_BUTTON, texts.STAFF_ONLY)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback"


async def test_odd_command_arguments_get_a_polite_answer(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        replies = await send(services, "/thongke ²", staff=True)
    assert replies and replies[0].text != texts.ERROR
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_staff_table_members_may_use_every_staff_command(services: Services) -> None:
    assert (await send(services, "/reload", user="55"))[0].text == texts.STAFF_ONLY
    assert (await send(services, "/thongke", user="55"))[0].text == texts.STAFF_ONLY
    await send(services, "/themcanbo 55", user="admin", staff=True)
    assert (await send(services, "/reload", user="55"))[0].text != texts.STAFF_ONLY
    assert (await send(services, "/thongke", user="55"))[0].text != texts.STAFF_ONLY
    assert (await send(services, "thong ke", user="56"))[0].text == texts.STAFF_ONLY  # the typed word too
