"""End to end: the real python-telegram-bot Application against the fake Bot API server over real HTTP.

Each test runs the whole bot (``serve_telegram``: handlers, SQLite, a small knowledge folder, the HTTP
server) in-process; two tests run ``python -m bot run`` as a subprocess and stop it with SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot

from bot.app import serve_telegram
from bot.channels.http import SECRET_HEADER, telegram_webhook_secret
from bot.channels.telegram import TelegramSender
from bot.kb.result import Decision
from bot.kb.store import KnowledgeStore
from bot.messages import Button, PermanentError, RateLimited, RecipientBlocked, Reply, TransientError
from bot.services import build_services
from bot.settings import Settings
from handlers import texts
from tests.fakes.telegram_api import Call, FakeTelegram, RateLimit, free_port, parse_telegram_html

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123:TEST"


def make_settings(tg: FakeTelegram, kb_dir: Path, tmp_path: Path, **extra: Any) -> Settings:
    """Settings pointing at the fake server, a temporary database and knowledge folder."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_base_url=tg.base_url,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=kb_dir,
        http_port=free_port(),
        admin_telegram_ids=frozenset({999}),
        **extra,
    )


@dataclass
class RunningBot:
    """A bot running in the test's event loop."""

    tg: FakeTelegram
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[int]

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> Call:
        """Send a message as a user and return the bot's first new reply in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.inject_message(chat_id=chat_id, text=text, **kwargs)
        return (await self.tg.wait_for_sent(before + 1, chat_id))[before]

    async def press(self, chat_id: int, data: str, **kwargs: Any) -> Call:
        """Press a button as a user and return the bot's first new send/edit in that chat."""
        before = len(self.tg.sent(chat_id))
        self.tg.inject_callback(chat_id=chat_id, data=data, **kwargs)
        return (await self.tg.wait_for_sent(before + 1, chat_id))[before]


async def start_bot(tg: FakeTelegram, settings: Settings) -> RunningBot:
    """Start ``serve_telegram`` and wait until it polls (or set its webhook)."""
    services = build_services(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_telegram(settings, services, stop=stop, host="127.0.0.1"))
    ready = "setwebhook" if settings.telegram_webhook_url else "getupdates"
    await tg.wait_for(lambda: bool(tg.calls_to(ready, ok=None)) or task.done())
    assert not task.done(), "the bot stopped during startup"
    return RunningBot(tg, settings, stop, task)


async def stop_bot(bot: RunningBot) -> None:
    """Stop the bot and check it exited cleanly and every message it sent was valid."""
    bot.stop.set()
    assert await asyncio.wait_for(bot.task, 10) == 0
    failed = [c for c in bot.tg.calls if not c.ok and c.method in ("sendmessage", "editmessagetext")]
    expected = ("blocked", "message to edit not found")  # tests provoke these on purpose
    assert all(any(e in (c.error or "") for e in expected) for c in failed), [c.error for c in failed]
    for call in bot.tg.sent():
        parse_telegram_html(str(call.params["text"]))


# Two close entries, so that some questions are ambiguous between them (the "did you mean" flow).
CATEGORY_CU_TRU = """\
category: cu-tru
title: Cư trú
entries:
  - id: cu-tru-tam-tru
    question: Đăng ký tạm trú cho người thuê nhà như thế nào?
    answer: |
      Chủ nhà hoặc người thuê khai báo **tạm trú** trên Cổng dịch vụ công hoặc tại công an phường.
  - id: cu-tru-tam-vang
    question: Khai báo tạm vắng khi đi làm xa như thế nào?
    answer: |
      Bạn khai báo **tạm vắng** trên ứng dụng VNeID hoặc tại công an phường.
"""


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The whole bot in long-polling mode against the fake server (the shared test knowledge + cư trú)."""
    (kb_dir / "cu-tru.yaml").write_text(CATEGORY_CU_TRU, encoding="utf-8")
    running = await start_bot(fake_telegram, make_settings(fake_telegram, kb_dir, tmp_path))
    yield running
    await stop_bot(running)


def data_of(tg: FakeTelegram, call: Call) -> list[str]:
    """Callback data of a sent message's buttons."""
    return [str(b["callback_data"]) for b in tg.buttons(call) if "callback_data" in b]


async def test_start_menu_and_commands(bot: RunningBot) -> None:
    tg = bot.tg
    reply = await bot.say(1001, "/start")
    assert reply.method == "sendmessage"
    assert reply.params["parse_mode"] == "HTML"
    assert reply.params["link_preview_options"] == {"is_disabled": True}
    assert "<b>Trợ lý số</b>" in reply.params["text"]
    assert {"m:cat:vneid", "m:cat:bhyt"} <= set(data_of(tg, reply))
    commands = tg.calls_to("setmycommands")
    public = [c["command"] for c in commands[0].params["commands"]]
    assert public == ["start", "menu", "help", "dangky", "huydangky", "kiemtra", "hoicanbo", "phananh", "tracuu",
                      "xoadulieu"]
    assert any(c.params.get("scope", {}).get("chat_id") == 999 for c in commands)  # staff menu for admins


async def test_menu_navigation_edits_in_place(bot: RunningBot) -> None:
    tg = bot.tg
    menu = await bot.say(1002, "/menu")
    menu_id = menu.result["message_id"]
    topic = await bot.press(1002, "m:cat:vneid", message_id=menu_id)
    assert topic.method == "editmessagetext" and topic.params["message_id"] == menu_id
    assert "Định danh điện tử VNeID" in tg.visible_text(topic)
    assert "a:vneid-cai-dat" in data_of(tg, topic)
    back = await bot.press(1002, "m:root", message_id=menu_id)
    assert back.method == "editmessagetext" and "m:cat:bhyt" in data_of(tg, back)
    answer = await bot.press(1002, "a:vneid-cai-dat", message_id=menu_id)
    assert "CH Play" in tg.visible_text(answer)
    await tg.wait_for(lambda: len(tg.calls_to("answercallbackquery")) >= 3)


async def test_edit_of_a_vanished_message_falls_back_to_send(bot: RunningBot) -> None:
    reply = await bot.press(1003, "m:cat:bhyt", message_id=987654)
    assert reply.method == "sendmessage"
    assert "Bảo hiểm y tế" in bot.tg.visible_text(reply)


@pytest.mark.parametrize(
    "question",
    ["Cách cài đặt ứng dụng VNeID trên điện thoại?", "cach cai dat ung dung vneid tren dien thoai"],
)
async def test_question_with_and_without_diacritics(bot: RunningBot, question: str) -> None:
    reply = await bot.say(1004, question)
    assert "<b>VNeID</b>" in reply.params["text"]
    assert '<a href="https://vneid.gov.vn">vneid.gov.vn</a>' in reply.params["text"]
    assert any(d.startswith("fb:") and d.endswith(":1") for d in data_of(bot.tg, reply))


UNSURE_CANDIDATES = (
    "đăng ký khai báo tạm",
    "tam tru tam vang",
    "vneid",
    "mật khẩu",
    "trẻ em",
    "bảo hiểm",
    "kích hoạt",
    "thẻ",
)


def first_query(kb_dir: Path, decision: Decision, queries: tuple[str, ...]) -> str:
    """The first of ``queries`` the current search tuning treats with ``decision`` (the engine is tuned often)."""
    store = KnowledgeStore.open(kb_dir)
    for query in queries:
        if store.search(query).decision is decision:
            return query
    pytest.skip(f"with the current search tuning none of {queries} gives {decision.value}")


async def test_unsure_question_then_suggestion(bot: RunningBot, kb_dir: Path) -> None:
    query = first_query(kb_dir, Decision.SUGGEST, UNSURE_CANDIDATES)
    reply = await bot.say(1005, query)
    assert texts.SUGGEST in bot.tg.visible_text(reply)
    suggestions = [d for d in data_of(bot.tg, reply) if d.startswith("a:")]
    assert suggestions
    entry = KnowledgeStore.open(kb_dir).kb.entry(suggestions[0][2:])
    assert entry is not None
    answer = await bot.press(1005, suggestions[0], message_id=reply.result["message_id"])
    assert entry.answer.split("**")[0].strip()[:20] in bot.tg.visible_text(answer)


async def test_decline_then_feedback(bot: RunningBot, kb_dir: Path) -> None:
    tg = bot.tg
    query = first_query(
        kb_dir, Decision.DECLINE, ("thời tiết ngày mai ra sao", "công thức nấu phở bò", "giá vàng hôm nay")
    )
    declined = await bot.say(1006, query)
    assert "chưa có câu trả lời" in tg.visible_text(declined)
    answer = await bot.say(1006, "gia hạn bhyt hộ gia đình")
    votes = [d for d in data_of(tg, answer) if d.startswith("fb:")]
    up = next(d for d in votes if d.endswith(":1"))
    down = next(d for d in votes if d.endswith(":0"))
    thanks = await bot.press(1006, up)
    assert texts.THANKS_FOR_VOTE.split("!")[0] in tg.visible_text(thanks)
    ask = await bot.press(1006, down)
    assert "fb:skip" in data_of(tg, ask)
    saved = await bot.say(1006, "Cần ghi rõ giờ làm việc của bưu điện")
    assert tg.visible_text(saved) == texts.COMMENT_SAVED


async def test_delete_my_data_with_confirm(bot: RunningBot) -> None:
    tg = bot.tg
    await bot.say(1007, "cài vneid")
    ask = await bot.say(1007, "/xoadulieu")
    confirm = next(d for d in data_of(tg, ask) if d.startswith("del:yes:"))
    stranger = await bot.press(1008, confirm, user_id=1008)  # someone else's button data
    assert tg.visible_text(stranger) == texts.DELETE_EXPIRED
    done = await bot.press(1007, confirm, message_id=ask.result["message_id"])
    assert done.method == "editmessagetext"
    assert tg.visible_text(done) == texts.DELETED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 5000, "dài quá"),
        ("😀🎉🙏" * 10, texts.NO_WORDS[:30]),
        ("\u200b\u200c\u200d", None),
        ("<b>bold</b> *_[x](javascript:alert(1)) </a> &amp; &#0; vneid", None),
        ('[click](https://evil.example/"><b>) **', None),
    ],
)
async def test_hostile_input_gets_valid_polite_replies(bot: RunningBot, text: str, expected: str | None) -> None:
    reply = await bot.say(1009, text)
    visible = bot.tg.visible_text(reply)
    assert visible.strip()
    if expected is not None:
        assert expected in visible
    assert "<b>bold</b>" not in reply.params["text"]


async def test_unknown_callback_data_is_answered_politely(bot: RunningBot) -> None:
    reply = await bot.press(1010, "zz:../../etc/passwd")
    assert bot.tg.visible_text(reply) == texts.INVALID_BUTTON
    await bot.tg.wait_for(lambda: len(bot.tg.calls_to("answercallbackquery")) >= 1)


async def test_blocked_user_does_not_crash_the_bot(bot: RunningBot) -> None:
    tg = bot.tg
    tg.blocked_chats.add(1011)
    tg.inject_message(chat_id=1011, text="/start")
    await tg.wait_for(lambda: bool(tg.calls_to("sendmessage", ok=False)))
    assert "blocked" in (tg.calls_to("sendmessage", ok=False)[0].error or "")
    reply = await bot.say(1012, "/help")
    assert "Cách dùng Trợ lý số" in tg.visible_text(reply)


async def test_group_messages_only_when_addressed(bot: RunningBot) -> None:
    tg = bot.tg
    group = -100123
    tg.inject_message(chat_id=group, text="cài vneid thế nào nhỉ", user_id=2001, chat_type="supergroup")
    reply = await bot.say(group, f"@{tg.bot_username} cài vneid thế nào", user_id=2002, chat_type="supergroup")
    assert "CH Play" in tg.visible_text(reply)
    command = await bot.say(group, f"/help@{tg.bot_username}", user_id=2003, chat_type="supergroup")
    assert "Cách dùng" in tg.visible_text(command)
    tg.inject_message(chat_id=group, text="/help@other_bot", user_id=2004, chat_type="supergroup")
    followup = await bot.say(
        group,
        "quên mật khẩu vneid",
        user_id=2005,
        chat_type="supergroup",
        reply_to_bot_message_id=reply.result["message_id"],
    )
    assert "Quên mật khẩu" in tg.visible_text(followup)
    await asyncio.sleep(0.1)
    assert len(tg.sent(group)) == 3  # the unaddressed message and the other bot's command got nothing


async def test_a_group_message_mentioning_the_bot_twice_keeps_every_word(bot: RunningBot) -> None:
    tg = bot.tg
    group = -100124
    name = f"@{tg.bot_username}"
    # The command carries the bot's name and the text mentions it again: both are cut at their own offsets.
    preview = await bot.say(
        group, f"/thongbao{name} Họp tổ dân phố 19h tối nay, {name} nhắc giúp bà con nhé", user_id=999,
        chat_type="supergroup",
    )  # fmt: skip
    await tg.wait_for_sent(3, group)
    shown = " ".join(tg.visible_text(call) for call in tg.sent(group))
    assert "Họp tổ dân phố 19h tối nay, nhắc giúp bà con nhé" in shown, shown
    assert name not in shown
    assert preview is not None


async def test_many_users_at_once_all_get_answers(bot: RunningBot) -> None:
    tg = bot.tg
    chats = range(7000, 7030)
    for chat in chats:
        tg.inject_message(chat_id=chat, text="cài vneid thế nào")
    await tg.wait_for(lambda: all(tg.sent(chat) for chat in chats), within=20)
    errors = [chat for chat in chats if texts.ERROR in tg.visible_text(tg.sent(chat)[0])]
    assert errors == [], f"{len(errors)} of {len(chats)} concurrent users got the error message"
    assert all("CH Play" in tg.visible_text(tg.sent(chat)[0]) for chat in chats)


async def test_healthz(bot: RunningBot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{bot.settings.http_port}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "knowledge_loaded": True, "knowledge_entries": 8}


async def test_webhook_mode_checks_the_secret(fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path) -> None:
    tg = fake_telegram
    settings = make_settings(tg, kb_dir, tmp_path, telegram_webhook_url="https://bot.example.org")
    running = await start_bot(tg, settings)
    try:
        call = tg.calls_to("setwebhook")[0]
        secret = telegram_webhook_secret(settings)
        assert call.params["url"] == "https://bot.example.org/telegram/webhook"
        assert call.params["secret_token"] == secret and len(secret) == 32
        url = f"http://127.0.0.1:{settings.http_port}/telegram/webhook"
        update = tg.message_update(chat_id=3001, text="/start")
        async with httpx.AsyncClient() as client:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: secret[:-1]}):
                response = await client.post(url, json=update, headers=headers)
                assert response.status_code == 401
            await asyncio.sleep(0.2)
            assert tg.sent(3001) == []
            response = await client.post(url, json=update, headers={SECRET_HEADER: secret})
            assert response.status_code == 200
            sent = await tg.wait_for_sent(1, 3001)
            assert "Trợ lý số" in tg.visible_text(sent[0])
            for junk in (b"{not json", b"[]", b'{"hello": 1}'):
                bad = await client.post(url, content=junk, headers={SECRET_HEADER: secret})
                assert bad.status_code == 400
        assert tg.calls_to("getupdates", ok=None) == []
    finally:
        await stop_bot(running)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB's RetryAfter
async def test_sender_splits_long_replies_and_maps_errors(fake_telegram: FakeTelegram) -> None:
    tg = fake_telegram
    async with Bot(TOKEN, base_url=tg.base_url) as ptb_bot:
        sender = TelegramSender(ptb_bot)
        long_text = "\n\n".join(f"**Đoạn {i}** " + "chữ & <thẻ> " * 60 for i in range(20))
        buttons = ((Button("ok", data="x:1"), Button("quá dài", data="x" * 65), Button("web", url="https://a.vn")),)
        sent = await sender.send("4001", [Reply(text=long_text, buttons=buttons)])
        calls = tg.sent(4001)
        assert len(sent) == len(calls) > 1
        assert all(len(c.params["text"]) <= 4096 for c in calls)
        assert [tg.buttons(c) for c in calls[:-1]] == [[]] * (len(calls) - 1)
        assert [b.get("callback_data") or b.get("url") for b in tg.buttons(calls[-1])] == ["x:1", "https://a.vn"]
        assert "".join(tg.visible_text(c) for c in calls).count("Đoạn") == 20

        tg.blocked_chats.add(4002)
        with pytest.raises(RecipientBlocked):
            await sender.send("4002", [Reply(text="xin chào")])
        with pytest.raises(PermanentError):
            await sender.send("not-a-chat", [Reply(text="xin chào")])
        tg.rate_limit = RateLimit(global_per_second=100, per_chat_per_second=1, retry_after=3)
        await sender.send("4003", [Reply(text="một")])
        with pytest.raises(RateLimited) as limited:
            await sender.send("4003", [Reply(text="hai")])
        assert limited.value.retry_after == 3
    tg.stop()
    async with _offline_bot(tg) as offline:
        with pytest.raises(TransientError):
            await TelegramSender(offline).send("4004", [Reply(text="xin chào")])


class _offline_bot:  # used as a context manager
    """A PTB Bot pointed at a stopped server, without the initial getMe."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.bot = Bot(TOKEN, base_url=tg.base_url)

    async def __aenter__(self) -> Bot:
        return self.bot

    async def __aexit__(self, *exc: object) -> None:
        await self.bot.shutdown()


# ----- the real process: python -m bot run --------------------------------------------------------------


def _bot_command() -> list[str]:
    if (ROOT / "bot" / "__main__.py").exists():
        return [sys.executable, "-m", "bot", "run"]
    return [
        sys.executable,
        "-c",
        "import sys; from bot.app import run; from bot.settings import Settings; sys.exit(run(Settings()))",
    ]


def _spawn(tg: FakeTelegram, kb_dir: Path, tmp_path: Path, port: int, **extra_env: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'proc.db'}",
        "KNOWLEDGE_DIR": str(kb_dir),
        "HTTP_PORT": str(port),
        "PYTHONPATH": str(ROOT),
        **extra_env,
    }
    if "TELEGRAM_WEBHOOK_URL" not in extra_env:
        env.pop("TELEGRAM_WEBHOOK_URL", None)
    return subprocess.Popen(
        _bot_command(), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _terminate(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the bot did not stop within 8 s after SIGTERM:\n{err[-2000:]}")
    return proc.returncode, err


def test_subprocess_polling_answers_and_stops_on_sigterm(
    fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path
) -> None:
    tg = fake_telegram
    port = free_port()
    proc = _spawn(tg, kb_dir, tmp_path, port, LOG_LEVEL="DEBUG")
    try:
        tg.wait_for_sync(lambda: bool(tg.calls_to("getupdates", ok=None)) or proc.poll() is not None, 30)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        tg.inject_message(chat_id=5001, text="Cách cài đặt ứng dụng VNeID trên điện thoại?")
        tg.wait_for_sync(lambda: len(tg.sent(5001)) >= 1)
        assert "CH Play" in tg.visible_text(tg.sent(5001)[0])
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        code, err = _terminate(proc)
    assert code == 0, err[-2000:]
    assert TOKEN not in err  # the token never reaches the logs, even at DEBUG


def test_subprocess_webhook_mode(fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path) -> None:
    tg = fake_telegram
    port = free_port()
    proc = _spawn(tg, kb_dir, tmp_path, port, TELEGRAM_WEBHOOK_URL="https://bot.example.org/")
    try:
        tg.wait_for_sync(lambda: bool(tg.calls_to("setwebhook", ok=None)) or proc.poll() is not None, 30)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        secret = str(tg.calls_to("setwebhook")[0].params["secret_token"])
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        update = tg.message_update(chat_id=5002, text="/start")
        tg.wait_for_sync(lambda: _can_connect(port), 10)
        assert httpx.post(url, json=update, headers={SECRET_HEADER: "nope"}).status_code == 401
        assert httpx.post(url, json=update, headers={SECRET_HEADER: secret}).status_code == 200
        tg.wait_for_sync(lambda: len(tg.sent(5002)) >= 1)
        assert len(tg.sent(5002)) == 1
    finally:
        code, err = _terminate(proc)
    assert code == 0, err[-2000:]


def _can_connect(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.HTTPError:
        return False
    return True


async def test_broken_edit_on_disk_reaches_the_staff_chat_and_the_old_base_stays_live(
    bot: RunningBot, kb_dir: Path
) -> None:
    tg = bot.tg
    before = len(tg.sent(999))
    broken = kb_dir / "vneid.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "  - id: x\n    question: [\n", encoding="utf-8")
    report = (await tg.wait_for_sent(before + 1, 999))[before]  # the watcher noticed the edit and told staff
    shown = tg.visible_text(report)
    assert "vneid.yaml:" in shown and texts.RELOAD_FAILED.split("{")[0].strip()[:20] in shown
    answer = await bot.say(1010, "quên mật khẩu vneid")
    assert "Quên mật khẩu" in tg.visible_text(answer)  # the previous knowledge base still answers
