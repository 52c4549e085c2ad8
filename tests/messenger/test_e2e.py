"""Messenger end to end: ``python -m bot run`` as its own process, Meta's signed webhook calls, the fake Graph API.

Each test starts the bot with only the Messenger settings (so it serves Messenger alone, never the terminal chat)
on a fresh SQLite file, posts webhook bodies signed as Meta signs them, and reads what reached the fake Send API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.broadcast.service import update_subscription
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.models import User
from handlers import texts
from tests.conftest import write_knowledge
from tests.fakes.graph_api import FakeGraph, page_body, postback_item, signature, text_item
from tests.fakes.telegram_api import free_port

ROOT = Path(__file__).resolve().parents[2]
APP_SECRET = "messenger-app-secret-TEST"
VERIFY_TOKEN = "verify-token-TEST"
PAGE_TOKEN = "page-token-TEST"

LONG_ENTRY = """\
category: thu-tuc
title: Thủ tục dài
entries:
  - id: thu-tuc-dai
    question: Hướng dẫn đầy đủ thủ tục đăng ký khai sinh cho con?
    answer: |
{body}
"""


def _long_answer() -> str:
    paragraph = "Bước {n}: chuẩn bị giấy chứng sinh, giấy tờ tùy thân của cha mẹ và nộp trực tuyến trên cổng. " * 7
    return "\n\n".join(paragraph.format(n=n).strip() for n in range(1, 6))


@dataclass
class RunningBot:
    """The bot process, its webhook URL and the fake Graph API it talks to."""

    proc: subprocess.Popen[str]
    url: str
    graph: FakeGraph
    db_url: str
    env: dict[str, str]
    counter: int = 0

    def post(self, body: bytes, *, sign: bool = True, secret: str = APP_SECRET) -> httpx.Response:
        """POST a webhook body, signed as Meta signs it unless ``sign`` is False."""
        headers = {"Content-Type": "application/json"}
        if sign:
            headers["X-Hub-Signature-256"] = signature(body, secret)
        return httpx.post(self.url, content=body, headers=headers, timeout=10)

    def say(self, psid: str, text: str, *, mid: str | None = None, payload: str | None = None) -> httpx.Response:
        """A citizen types ``text`` (or taps a quick reply carrying ``payload``)."""
        self.counter += 1
        return self.post(page_body(text_item(psid, text, mid or f"mid.{self.counter}", quick_payload=payload)))

    def wait_sent(self, psid: str, count: int, within: float = 20) -> list[object]:
        """Wait until ``psid`` received ``count`` messages."""
        deadline = time.monotonic() + within
        while len(self.graph.sent_to(psid)) < count:
            assert self.proc.poll() is None, self.stderr()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{psid} got {len(self.graph.sent_to(psid))} messages, expected {count}")
            time.sleep(0.02)
        return list(self.graph.sent_to(psid))

    def stderr(self) -> str:
        """Everything the process logged (after it stopped)."""
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def _start(tmp_path: Path, graph: FakeGraph, kb_dir: Path) -> RunningBot:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "WEBCHAT_"))},
        "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_API_BASE_URL": graph.base_url,
        "DATABASE_URL": db_url,
        "KNOWLEDGE_DIR": str(kb_dir),
        "HTTP_PORT": str(port),
        "BROADCAST_POLL_INTERVAL": "0.05",
        "LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the bot did not become healthy"
        time.sleep(0.05)
    return RunningBot(proc, base + "/messenger/webhook", graph, db_url, env)


def _stop(bot: RunningBot) -> str:
    bot.proc.terminate()
    assert bot.proc.wait(20) == 0
    logs = bot.stderr()
    for secret in (APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN):
        assert secret not in logs
    assert "Traceback" not in logs
    return logs


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """The fake Graph API."""
    with FakeGraph(page_token=PAGE_TOKEN) as server:
        yield server


@pytest.fixture
def bot(tmp_path: Path, graph: FakeGraph) -> Iterator[RunningBot]:
    """``python -m bot run`` serving Messenger alone; on exit: clean stop, no secret and no traceback in its logs."""
    kb_dir = write_knowledge(tmp_path / "kb")
    (kb_dir / "thu-tuc.yaml").write_text(
        LONG_ENTRY.format(body=textwrap.indent(_long_answer(), " " * 6)), encoding="utf-8"
    )
    running = _start(tmp_path, graph, kb_dir)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            _stop(running)


def test_verification_handshake(bot: RunningBot) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = httpx.get(bot.url, params=params, timeout=5)
    assert answer.status_code == 200 and answer.text == "1158201444"
    wrong = httpx.get(bot.url, params={**params, "hub.verify_token": "guess"}, timeout=5)
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
    assert httpx.get(bot.url, params={**params, "hub.mode": "unsubscribe"}, timeout=5).status_code == 403


def test_questions_with_and_without_diacritics_are_answered(bot: RunningBot) -> None:
    assert bot.say("u-accent", "Quên mật khẩu VNeID thì làm sao?").status_code == 200
    assert bot.say("u-plain", "quen mat khau vneid thi lam sao").status_code == 200
    for psid in ("u-accent", "u-plain"):
        [answer] = bot.wait_sent(psid, 1)
        assert "Quên mật khẩu" in answer.text  # type: ignore[attr-defined]
    typing = [c for c in bot.graph.calls if c.action == "typing_on"]
    assert {c.recipient for c in typing} == {"u-accent", "u-plain"}
    assert all(c.body["messaging_type"] == "RESPONSE" for c in bot.graph.sent_to("u-accent"))


def test_forged_and_missing_signatures_are_refused(bot: RunningBot) -> None:
    body = page_body(text_item("u-forged", "quen mat khau vneid", "mid.f1"))
    assert bot.post(body, sign=False).status_code == 401
    assert bot.post(body, secret="not-the-secret").status_code == 401
    tampered = body.replace(b"quen", b"QUEN")
    assert httpx.post(bot.url, content=tampered, headers={"X-Hub-Signature-256": signature(body, APP_SECRET)},
                      timeout=5).status_code == 401
    time.sleep(0.5)
    assert bot.graph.sent_to("u-forged") == []


def test_a_message_id_sent_twice_is_answered_once(bot: RunningBot) -> None:
    body = page_body(text_item("u-dup", "tra cuu han the bhyt", "mid.same"))
    assert bot.post(body).status_code == 200
    assert bot.post(body).status_code == 200
    bot.wait_sent("u-dup", 1)
    assert bot.say("u-dup", "gia han bhyt ho gia dinh").status_code == 200
    sent = bot.wait_sent("u-dup", 2)
    time.sleep(0.5)
    assert len(bot.graph.sent_to("u-dup")) == len(sent) == 2


def test_batched_entries_are_all_answered_in_order(bot: RunningBot) -> None:
    items = [text_item(f"u-batch-{n}", "cai app vneid the nao", f"mid.b{n}") for n in range(4)]
    assert bot.post(page_body(*items, entries=2)).status_code == 200
    for n in range(4):
        [answer] = bot.wait_sent(f"u-batch-{n}", 1)
        assert "VNeID" in answer.text  # type: ignore[attr-defined]


def test_menu_choices_work_as_quick_replies_and_postbacks(bot: RunningBot) -> None:
    assert bot.say("u-menu", "menu").status_code == 200
    [menu] = bot.wait_sent("u-menu", 1)
    choices = menu.quick_replies  # type: ignore[attr-defined]
    assert choices, "the menu offers its topics as quick replies"
    numbered = dict(line.split(". ", 1) for line in menu.text.splitlines() if ". " in line)  # type: ignore[attr-defined]
    number = next(n for n, label in numbered.items() if "VNeID" in label)
    topic = next(c for c in choices if c["title"] == number)
    assert bot.say("u-menu", topic["title"], payload=topic["payload"]).status_code == 200
    sent = bot.wait_sent("u-menu", 2)
    assert "Cách cài đặt ứng dụng VNeID" in sent[1].text  # type: ignore[attr-defined]
    # the same choice as a postback (a persistent-menu or template button)
    assert bot.post(page_body(postback_item("u-menu", topic["payload"], "mid.pb1"))).status_code == 200
    sent = bot.wait_sent("u-menu", 3)
    assert "Cách cài đặt ứng dụng VNeID" in sent[2].text  # type: ignore[attr-defined]


def test_a_long_answer_arrives_split_within_the_limit(bot: RunningBot) -> None:
    assert bot.say("u-long", "huong dan day du thu tuc dang ky khai sinh cho con").status_code == 200
    time.sleep(0.3)
    sent = bot.wait_sent("u-long", 2)
    time.sleep(0.5)
    sent = list(bot.graph.sent_to("u-long"))
    assert len(sent) >= 2
    assert all(0 < len(m.text) <= 2000 for m in sent)
    joined = "".join(m.text for m in sent)
    assert all(f"Bước {n}" in joined for n in range(1, 6))


def test_hostile_bodies_get_4xx_and_the_bot_keeps_answering(bot: RunningBot) -> None:
    junk = [b"", b"not json", b"[1,2,3]", b'{"object": "page", "entry": 5}', b"[" * 50_000 + b"]" * 50_000,
            json.dumps({"object": "page", "entry": [{"messaging": [{"sender": {"id": ["x"]}}]}]}).encode()]
    for body in junk:
        assert bot.post(body).status_code in (200, 400), body[:40]
    big = b'{"object":"page","entry":[],"pad":"' + b"x" * 1_100_000 + b'"}'
    assert bot.post(big).status_code == 413
    assert bot.post(big, sign=False).status_code == 413  # refused by size before the signature is even checked
    assert bot.say("u-after", "tra cuu han the bhyt").status_code == 200
    bot.wait_sent("u-after", 1)
    logs = _stop(bot)
    assert "messenger webhook" in logs


def test_notices_reach_only_people_inside_the_24_hour_window(bot: RunningBot) -> None:
    engine = create_engine_for(bot.db_url)
    sessions = make_sessionmaker(engine)
    now = dt.datetime.now(dt.UTC)
    for psid in ("u-recent", "u-old"):
        update_subscription(sessions=sessions, channel="messenger", external_id=psid, subscribed=True, now=now)
    with sessions.begin() as session:
        old = session.query(User).filter_by(channel="messenger", external_id="u-old").one()
        old.last_seen = now - dt.timedelta(hours=30)
    # staff send the notice from the shell, as they would with the bot running: the channels come from the settings
    sent = subprocess.run(
        [sys.executable, "-m", "bot", "broadcast", "send", "--no-wait", "Lịch tiêm chủng tháng 12 tại trạm y tế."],
        env=bot.env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    from bot.broadcast.service import list_broadcasts

    [created] = list_broadcasts(sessions=sessions)
    broadcast_id = created.id
    [notice] = bot.wait_sent("u-recent", 1)
    assert "Lịch tiêm chủng" in notice.text  # type: ignore[attr-defined]
    from bot.broadcast.service import broadcast_status

    deadline = time.monotonic() + 20
    while (status := broadcast_status(sessions=sessions, broadcast_id=broadcast_id)) is None or status.remaining:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert bot.graph.sent_to("u-old") == []
    assert status.skipped == 1 and status.sent == 1
    assert texts.MESSENGER_SKIPPED_OUTSIDE_WINDOW in (status.skip_reasons or {})
    engine.dispose()
