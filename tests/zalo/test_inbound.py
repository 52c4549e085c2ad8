"""Inbound durability on Zalo: a re-sent event whose reply never went out is answered, an answered one is not."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json

from bot.channels.zalo.webhook import ZaloEventIn
from bot.inbound import InboundLog
from bot.storage.models import utcnow
from tests.fakes.zalo_api import text_event
from tests.zalo.conftest import ZaloBot


async def test_a_resent_event_whose_reply_was_lost_is_answered(zalo_bot: ZaloBot) -> None:
    msg_id = zalo_bot.next_msg_id()
    # a process took this event, then died before its reply went out
    then = utcnow() - dt.timedelta(seconds=120)
    crashed = InboundLog(zalo_bot.services.sessions, "zalo", lease_seconds=90, clock=lambda: then)
    event = ZaloEventIn(name="user_send_text", user_id="u-lost", text="/start", msg_id=msg_id)
    assert crashed.claim(event.key, json.dumps(dataclasses.asdict(event)), "u-lost")
    response = await zalo_bot.post(text_event(zalo_bot.fake.app_id, "u-lost", "/start", msg_id))  # Zalo re-sends
    assert response.status_code == 200
    answers = await zalo_bot.fake.wait_for_sent("u-lost", 1)
    # the same event once more: now answered, so dropped
    assert (await zalo_bot.post(text_event(zalo_bot.fake.app_id, "u-lost", "/start", msg_id))).status_code == 200
    await asyncio.sleep(0.5)
    assert len(zalo_bot.fake.sent_to("u-lost")) == len(answers)


async def test_an_event_is_recorded_before_the_webhook_answers(zalo_bot: ZaloBot) -> None:
    from sqlalchemy import select

    from bot.inbound import InboundUpdate

    msg_id = zalo_bot.next_msg_id()
    zalo_bot.fake.user_errors["u-rec"] = -201  # every reply refused: the answer never goes out
    response = await zalo_bot.post(text_event(zalo_bot.fake.app_id, "u-rec", "xin chào", msg_id))
    assert response.status_code == 200
    with zalo_bot.services.sessions() as session:  # already there when the 200 came back
        keys = set(session.scalars(select(InboundUpdate.update_key).where(InboundUpdate.channel == "zalo")))
    assert f"msg:{msg_id}" in keys
