"""The web chat API and files through the bot's one HTTP server: origins, limits, the reply queue, privacy."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import metrics
from bot.app import routing, serve
from bot.channel import ChannelHost
from bot.channels.http import build_http_app
from bot.channels.registry import configured_channels
from bot.channels.webchat.api import API_PATH, MAX_BODY_BYTES, visitor_key
from bot.channels.webchat.channel import WebChatChannel
from bot.services import Services, build_services
from bot.settings import Settings
from bot.storage.models import User
from handlers import texts
from tests.webchat.conftest import webchat_settings

PORTAL = "https://phuong-mau.example.gov.vn"
VISITOR = "a" * 32
OTHER = "b" * 32


async def no_alert(text: str) -> None:
    raise AssertionError(f"no staff alert expected: {text}")


class Web:
    """The web chat channel's routes behind an in-process client with a chosen client address."""

    def __init__(self, settings: Settings, services: Services, address: str = "203.0.113.7") -> None:
        host = ChannelHost(services=services, handle=routing(services), alert_staff=no_alert)
        self.channel = WebChatChannel(settings, host)
        self.services = services
        transport = httpx.ASGITransport(app=build_http_app(self.channel.routes()), client=(address, 50000))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://bot.example")

    async def send(self, body: dict[str, Any], origin: str | None = PORTAL) -> httpx.Response:
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        if origin is not None:
            headers["Origin"] = origin
        return await self.client.post(API_PATH, content=json.dumps(body), headers=headers)

    async def say(self, text: str, visitor: str = VISITOR, after: int = 0) -> list[dict[str, Any]]:
        response = await self.send({"visitor": visitor, "text": text, "after": after})
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


def plain(message: dict[str, Any]) -> str:
    """The text of a queued message's blocks."""
    out: list[str] = []
    for block in message["blocks"]:
        lines = block.get("lines") or block.get("items") or [block.get("c", [])]
        out.extend("".join(seg["t"] for seg in line) for line in lines)
    return "\n".join(out)


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    settings = webchat_settings(tmp_path, origins=f"{PORTAL}/, https://other.example.gov.vn",
                                webchat_visitor_messages_per_minute=5, webchat_ip_requests_per_minute=40)
    services = build_services(settings)
    web = Web(settings, services)
    yield web
    await web.client.aclose()
    services.close()


def counter(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


async def test_a_question_is_answered_and_queued_with_increasing_ids(web: Web) -> None:
    answer = await web.say("cach cai dat vneid")
    assert len(answer) == 1
    assert "CH Play" in plain(answer[0])
    labels = [b["label"] for row in answer[0]["buttons"] for b in row]
    assert texts.BUTTON_HELPFUL in labels and texts.BUTTON_NOT_HELPFUL in labels
    link = [s for b in answer[0]["blocks"] for line in b.get("lines", []) for s in line if "href" in s]
    assert link == [{"t": "vneid.gov.vn", "href": "https://vneid.gov.vn"}]

    second = await web.say("quen mat khau vneid", after=answer[0]["id"])
    assert [m["id"] for m in second] == [second[0]["id"]] and second[0]["id"] > answer[0]["id"]
    # a widget that lost both answers (say, a reload mid-request) gets both back, in order
    again = await web.client.get(API_PATH, params={"visitor": VISITOR, "after": 0})
    assert [m["id"] for m in again.json()["messages"]] == [answer[0]["id"], second[0]["id"]]
    assert (await web.client.get(API_PATH, params={"visitor": OTHER, "after": 0})).json()["messages"] == []


async def test_origins_are_checked_and_cors_headers_name_only_the_allowed_one(web: Web) -> None:
    refused_before = counter("troly_webchat_requests_total", kind="send", outcome="origin")
    ok = await web.send({"visitor": VISITOR, "text": "xin chao"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == PORTAL
    assert "access-control-allow-credentials" not in ok.headers

    refused = await web.send({"visitor": OTHER, "text": "cach cai dat vneid"}, origin="https://evil.example.com")
    assert refused.status_code == 403
    assert refused.json() == {"error": "origin"}
    assert counter("troly_webchat_requests_total", kind="send", outcome="origin") == refused_before + 1
    with web.services.sessions() as session:  # nothing was processed for the refused page
        assert session.scalar(select(User.id).where(User.external_id == visitor_key(OTHER))) is None
    fetch = await web.client.get(API_PATH, params={"visitor": VISITOR}, headers={"Origin": "http://phuong-mau.example.gov.vn"})
    assert fetch.status_code == 403  # http is not https: another origin

    same_site = await web.send({"visitor": VISITOR, "text": "cam on"}, origin="http://bot.example")
    assert same_site.status_code == 200  # the bot's own /demo page
    preflight = await web.client.options(API_PATH, headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PORTAL


async def test_bodies_and_inputs_are_bounded(web: Web) -> None:
    big = {"visitor": VISITOR, "text": "a" * MAX_BODY_BYTES}
    assert (await web.send(big)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(40):
            yield b"x" * 1024

    streamed = await web.client.post(API_PATH, content=chunks(), headers={"Origin": PORTAL})
    assert streamed.status_code == 413
    for body in (
        {"visitor": "short", "text": "xin chao"},
        {"visitor": VISITOR + "<>", "text": "xin chao"},
        {"visitor": VISITOR, "text": "xin chao", "button": "m:root"},
        {"visitor": VISITOR},
        {"visitor": VISITOR, "button": "x" * 65},
        {"visitor": VISITOR, "text": 5},
    ):
        assert (await web.send(body)).status_code == 400, body
    bad_json = await web.client.post(API_PATH, content=b"{not json", headers={"Origin": PORTAL})
    assert bad_json.status_code == 400
    long_text = await web.say("hỏi " * 1100)  # within the body limit, over the handlers' 4,000 characters
    assert "dài quá" in plain(long_text[0])


async def test_rate_limits_per_visitor_and_per_address(web: Web, tmp_path: Path) -> None:
    for n in range(5):
        await web.say(f"cam on {n}")
    limited = await web.send({"visitor": VISITOR, "text": "cam on"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert (await web.send({"visitor": OTHER, "text": "cam on"})).status_code == 200  # another visitor is fine

    settings = webchat_settings(tmp_path / "ip", origins=PORTAL, webchat_ip_requests_per_minute=3)
    services = build_services(settings)
    try:
        crowded = Web(settings, services, address="198.51.100.9")
        statuses = [(await crowded.client.get(API_PATH, params={"visitor": VISITOR})).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        await crowded.client.aclose()
    finally:
        services.close()


async def test_buttons_votes_and_no_subscription_on_the_web(web: Web) -> None:
    answer = await web.say("gia han bao hiem y te ho gia dinh")
    vote = next(b["data"] for row in answer[0]["buttons"] for b in row if b["label"] == texts.BUTTON_HELPFUL)
    thanks = await web.send({"visitor": VISITOR, "button": vote, "after": answer[0]["id"]})
    assert texts.THANKS_FOR_VOTE in plain(thanks.json()["messages"][0])

    refused = await web.say("/dangky")
    assert plain(refused[-1]).startswith("Xin lỗi, tại đây mình chưa gửi thông báo được")
    tapped = await web.send({"visitor": VISITOR, "button": "sub:on"})
    assert "chưa gửi thông báo được" in plain(tapped.json()["messages"][-1])
    with web.services.sessions() as session:
        assert session.scalars(select(User.subscribed).where(User.channel == "webchat")).all() == [False]
    help_text = plain((await web.say("/help"))[-1])
    assert "/menu" in help_text and "/dangky" not in help_text
    assert await web.channel.eligibility(visitor_key(VISITOR)) == texts.WEBCHAT_SKIPPED_NO_PUSH


async def test_only_a_hash_of_the_visitor_id_is_stored_and_delete_works(web: Web) -> None:
    await web.say("cach cai dat vneid")
    with web.services.sessions() as session:
        ids = session.scalars(select(User.external_id).where(User.channel == "webchat")).all()
    assert ids == [visitor_key(VISITOR)] and VISITOR not in ids[0]
    explain = await web.say("xoa du lieu")
    buttons = [b for row in explain[-1]["buttons"] for b in row]
    confirm = next(b["data"] for b in buttons if b["label"] == texts.BUTTON_DELETE_CONFIRM)
    done = await web.send({"visitor": VISITOR, "button": confirm})
    assert texts.DELETED in plain(done.json()["messages"][-1])
    with web.services.sessions() as session:
        assert session.scalars(select(User.id).where(User.channel == "webchat")).all() == []


async def test_the_bot_serves_the_web_chat_alone_without_the_terminal(tmp_path: Path) -> None:
    settings = webchat_settings(tmp_path, origins=PORTAL)
    assert [spec.name for spec in configured_channels(settings)] == ["webchat"]  # so `run` does not open the terminal
    services = build_services(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, services, stop=stop, host="127.0.0.1"))
    base = f"http://127.0.0.1:{settings.http_port}"
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(500):
            if task.done():
                break
            try:
                if (await client.get(base + "/healthz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)
        assert not task.done(), "serve stopped during startup"
        script = await client.get(base + "/widget.js", headers={"Accept-Encoding": "gzip"})
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("application/javascript")
        assert script.headers["content-encoding"] == "gzip"
        assert "Hỏi Trợ lý số" in script.text and "__TEXTS__" not in script.text
        style = await client.get(base + "/widget.css", headers={"Accept-Encoding": "gzip"})
        raw = await client.get(base + "/widget.js", headers={"Accept-Encoding": "gzip"})
        size = sum(len(gzip.compress(r.content, 9)) for r in (raw, style))
        assert size <= 30 * 1024, f"widget is {size} bytes gzipped"
        # no request anywhere but the bot itself: no absolute address, no CSS import or url()
        assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", script.text + style.text) == []
        assert "@import" not in style.text and "url(" not in style.text
        demo = await client.get(base + "/demo")
        assert demo.status_code == 200
        assert "default-src 'none'" in demo.headers["content-security-policy"]
        assert f"{base}/widget.js" in demo.text
        answer = await client.post(base + API_PATH, content=json.dumps({"visitor": VISITOR, "text": "vneid"}),
                                   headers={"Origin": PORTAL})
        assert answer.status_code == 200 and answer.json()["messages"]
        exposed = (await client.get(base + "/metrics")).text
        assert 'troly_webchat_requests_total{kind="send",outcome="ok"}' in exposed
        assert 'troly_updates_received_total{channel="webchat"}' in exposed
    stop.set()
    assert await asyncio.wait_for(task, 20) == 0


async def test_a_message_sent_again_after_a_lost_response_is_answered_once(web: Web) -> None:
    from bot.storage.models import QuestionLog

    body = {"visitor": VISITOR, "text": "kiem tra han the bhyt", "mid": "m-0001-abcdef"}
    first = (await web.send(body)).json()["messages"]
    again = (await web.send(body)).json()["messages"]  # the widget's retry: same id, same answer, once
    assert [m["id"] for m in again] == [m["id"] for m in first]
    with web.services.sessions() as session:
        assert len(session.scalars(select(QuestionLog.id)).all()) == 1
    other = await web.send({**body, "mid": "m-0002-abcdef"})
    assert len(other.json()["messages"]) == 2
    assert (await web.send({**body, "mid": "bad id!"})).status_code == 400


async def test_behind_a_proxy_the_limit_counts_the_forwarded_address(tmp_path: Path) -> None:
    settings = webchat_settings(tmp_path, origins=PORTAL, webchat_ip_requests_per_minute=2, webchat_proxy_hops=1)
    services = build_services(settings)
    try:
        behind = Web(settings, services, address="10.0.0.2")  # every call arrives from the proxy

        async def fetch(forwarded: str) -> int:
            response = await behind.client.get(API_PATH, params={"visitor": VISITOR},
                                               headers={"X-Forwarded-For": forwarded})
            return response.status_code

        # the client may write anything on the left; the proxy's own (rightmost) entry is what counts
        assert [await fetch(f"{fake}, 198.51.100.1") for fake in ("1.1.1.1", "2.2.2.2", "3.3.3.3")] == [200, 200, 429]
        assert await fetch("198.51.100.2") == 200  # another visitor behind the same proxy
        await behind.client.aclose()
    finally:
        services.close()


async def test_two_instances_on_one_database_share_the_queue(web: Web, tmp_path: Path) -> None:
    second_services = build_services(web.channel.settings)  # another process on the same database
    try:
        second = Web(web.channel.settings, second_services)
        body = {"visitor": VISITOR, "text": "kiem tra han the bhyt", "mid": "m-0100-abcdef"}
        first = (await web.send(body)).json()["messages"]
        fetched = await second.client.get(API_PATH, params={"visitor": VISITOR, "after": 0})
        assert [m["id"] for m in fetched.json()["messages"]] == [m["id"] for m in first]
        retried = (await second.send(body)).json()["messages"]  # the retry lands on the other instance
        assert [m["id"] for m in retried] == [m["id"] for m in first]
        await second.client.aclose()
    finally:
        second_services.close()


async def test_a_message_whose_process_died_is_answered_by_another(web: Web) -> None:
    from bot.inbound import InboundLog, recover

    key = visitor_key(VISITOR)
    dead = InboundLog(web.services.sessions, "webchat", lease_seconds=0)  # claimed, then the process died
    payload = json.dumps({"visitor": key, "text": "kiem tra han the bhyt", "button": None})
    assert dead.claim(f"{key}:m-0200-abcdef", payload, key)
    channel = web.channel
    assert await recover(channel.inbound, channel._replay, channel._apologize) == 1
    fetched = await web.client.get(API_PATH, params={"visitor": VISITOR, "after": 0})
    assert "VssID" in plain(fetched.json()["messages"][0])
    retried = await web.send({"visitor": VISITOR, "text": "kiem tra han the bhyt", "mid": "m-0200-abcdef"})
    assert len(retried.json()["messages"]) == 1  # the widget's retry finds it answered, not asked again
