"""The signature rule, event parsing, rendering, and Telegram + Zalo together in one ``python -m bot run``."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.channels.zalo.api import MAX_BUTTONS, QUERY_PREFIX, render_reply, to_delivery_error
from bot.channels.zalo.channel import to_incoming
from bot.channels.zalo.webhook import parse_event, sign, verify_signature
from bot.messages import Button, PermanentError, RateLimited, RecipientBlocked, Reply, TransientError
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import FakeTelegram, free_port
from tests.fakes.zalo_api import FakeZalo, follow_event, sign_event, text_event

ROOT = Path(__file__).resolve().parents[2]


def test_signature_with_body_or_header_timestamp_and_optional_prefix() -> None:
    event = text_event("42", "u1", "xin chào", "m1", timestamp="1700000000000")
    body_signed = sign_event(event, app_id="42", secret="s")
    header_signed = sign_event(event, app_id="42", secret="s", timestamp_from="header")
    bare = sign_event(event, app_id="42", secret="s", prefix="")
    check = {"app_id": "42", "secret": "s"}
    signature = body_signed.headers["X-ZEvent-Signature"]
    assert signature.startswith("mac=")
    assert verify_signature(body=body_signed.body, signature=signature, **check) == "body"
    assert verify_signature(body=bare.body, signature=bare.headers["X-ZEvent-Signature"], **check) == "body"
    assert verify_signature(
        body=header_signed.body, signature=header_signed.headers["X-ZEvent-Signature"],
        header_timestamp=header_signed.headers["X-ZEvent-Timestamp"], **check,
    ) == "header"  # fmt: skip
    assert verify_signature(body=body_signed.body, signature=None, **check) is None
    assert verify_signature(body=body_signed.body, signature="mac=" + "0" * 64, **check) is None
    assert (
        verify_signature(
            body=body_signed.body, signature=body_signed.headers["X-ZEvent-Signature"], app_id="43", secret="s"
        )
        is None
    )
    assert sign(app_id="a", body=b"{}", timestamp="1", secret="k") == hashlib.sha256(b"a{}1k").hexdigest()


def test_events_become_plain_messages() -> None:
    typed = to_incoming(parse_event(text_event("42", "u1", "cài vneid", "m1")))
    assert typed is not None and (typed.channel, typed.user_id, typed.chat_id, typed.text) == (
        "zalo",
        "u1",
        "u1",
        "cài vneid",
    )
    tapped = to_incoming(parse_event(text_event("42", "u1", QUERY_PREFIX + "m:root", "m2")))
    assert tapped is not None and tapped.button_data == "m:root" and tapped.text is None
    follow = parse_event(follow_event("42", "u9"))
    assert (follow.name, follow.user_id) == ("follow", "u9") and to_incoming(follow) is None
    assert parse_event(text_event("42", "u1", "a", "m1")).key == parse_event(text_event("42", "u1", "b", "m1")).key


def test_rendering_buttons_links_and_numbered_fallback() -> None:
    reply = Reply(
        text="**Chào** bạn. [Nguồn](https://vneid.gov.vn)",
        buttons=(
            (Button("Có", data="fb:1:1"), Button("Không", data="fb:1:0")),
            (Button("Trang chính thức", url="https://vneid.gov.vn"),),
        ),
    )
    [out] = render_reply(reply)
    assert out.message["text"] == "Chào bạn. Nguồn: https://vneid.gov.vn"
    buttons = out.message["attachment"]["payload"]["buttons"]
    assert [b["type"] for b in buttons] == ["oa.query.hide", "oa.query.hide", "oa.open.url"]
    assert buttons[0]["payload"] == QUERY_PREFIX + "fb:1:1" and buttons[2]["payload"] == {"url": "https://vneid.gov.vn"}
    assert out.fallback is not None and "1. Có\n2. Không" in out.fallback[0]["text"]
    many = Reply(
        text="Chọn chủ đề", buttons=tuple((Button(f"Chủ đề {i}", data=f"m:cat:{i}"),) for i in range(MAX_BUTTONS + 1))
    )
    [numbered] = render_reply(many)
    assert "attachment" not in numbered.message
    assert "6. Chủ đề 5" in numbered.message["text"] and "1, 2, 3, 4, 5 hoặc 6" in numbered.message["text"]


def test_error_mapping_keeps_zalo_codes() -> None:
    assert isinstance(to_delivery_error(200, {"error": -217, "message": "blocked"}), RecipientBlocked)
    window = to_delivery_error(200, {"error": -230, "message": "no interaction in 7 days"})
    assert isinstance(window, PermanentError) and window.code == -230
    assert isinstance(to_delivery_error(200, {"error": -32, "message": "rate"}), RateLimited)
    assert isinstance(to_delivery_error(502, None), TransientError)


def test_telegram_and_zalo_run_together_in_one_process(tmp_path: Path) -> None:
    port = free_port()
    with FakeTelegram() as tg, FakeZalo() as zalo:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "KNOWLEDGE_DIR": str(write_knowledge(tmp_path / "kb")),
            "HTTP_PORT": str(port),
            "ZALO_APP_ID": zalo.app_id,
            "ZALO_APP_SECRET": zalo.app_secret,
            "ZALO_OA_SECRET_KEY": "oa-secret",
            "ZALO_OA_ACCESS_TOKEN": zalo.access_token,
            "ZALO_OA_REFRESH_TOKEN": zalo.refresh_token,
            "ZALO_API_BASE_URL": zalo.base_url,
            "ZALO_OAUTH_BASE_URL": zalo.base_url,
        }
        env.pop("TELEGRAM_WEBHOOK_URL", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            tg.wait_for_sync(lambda: bool(tg.calls_to("getupdates", ok=None)) or proc.poll() is not None, 20)
            assert proc.poll() is None, "the bot exited"
            tg.inject_message(chat_id=7, text="/help")
            signed = sign_event(text_event(zalo.app_id, "z1", "/help", "m-1"), app_id=zalo.app_id, secret="oa-secret")
            deadline = time.monotonic() + 20
            status = 0
            while time.monotonic() < deadline and status != 200:
                try:
                    status = httpx.post(
                        f"http://127.0.0.1:{port}/zalo/webhook", content=signed.body, headers=signed.headers, timeout=5
                    ).status_code
                except httpx.HTTPError:
                    time.sleep(0.05)
            assert status == 200
            tg.wait_for_sync(lambda: len(tg.sent(7)) >= 1, 20)
            while time.monotonic() < deadline and not zalo.sent_to("z1"):
                time.sleep(0.02)
            assert "Cách dùng Trợ lý số" in zalo.sent_to("z1")[0].text
            assert "Cách dùng" in str(tg.sent(7)[0].params.get("text"))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
        assert proc.returncode == 0, err
        assert "Zalo OA channel ready" in err
