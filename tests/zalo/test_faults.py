"""Zalo replies under faults: a rate error, a 500, a reset before delivery and a slow answer each still deliver."""

from __future__ import annotations

import pytest

from tests.fakes.zalo_api import FakeZalo
from tests.zalo.conftest import ZaloBot


@pytest.mark.parametrize("fault", ["500", "reset_before", "slow"])
async def test_a_reply_survives_a_transport_fault(zalo_bot: ZaloBot, fault: str) -> None:
    zalo_bot.fake.faults.slow_seconds = 0.3
    zalo_bot.fake.faults.script(fault)
    [answer] = await zalo_bot.say("u-fault", "/start", count=1)
    assert answer.text
    assert zalo_bot.fake.faults.injected[fault] == 1


async def test_a_reply_survives_a_zalo_rate_error(zalo_bot: ZaloBot) -> None:
    fake: FakeZalo = zalo_bot.fake
    fake.fail_next_send(-32, status=429)  # "request rate exceeded": retried after the pause
    [answer] = await zalo_bot.say("u-rate", "/start", count=1)
    assert answer.text
    assert [c.error for c in fake.sends if c.user_id == "u-rate"] == [-32, 0]
