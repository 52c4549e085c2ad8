"""The HTTP edge under attack and odd input, over real HTTP: bounded bodies (413 from Content-Length and while
streaming), malformed bodies (4xx, never 500, no traceback), one log format for uvicorn and libraries, Zalo's
freshness window and de-duplication keys, protected /metrics, and group mentions cut by entity offsets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.http import HttpServer, build_http_app, metrics_route, telegram_webhook_route
from bot.channels.zalo.webhook import ZaloEventIn, parse_event, zalo_webhook_route
from bot.logs import configure_logging
from bot.settings import Settings
from tests.fakes.telegram_api import free_port
from tests.fakes.zalo_api import sign_event, text_event

APP_ID, SECRET, TG_SECRET = "4242", "oa-secret-key", "tg-secret-123"
LIMIT = 64_000


class FakeApplication:
    """Stands in for PTB's Application on the webhook route: a queue and a bot."""

    def __init__(self) -> None:
        self.update_queue: asyncio.Queue[Any] = asyncio.Queue()
        self.bot = None


class Edge:
    """An HTTP server with the Telegram and Zalo webhook routes, recording what got through."""

    def __init__(self, port: int, events: list[ZaloEventIn], application: FakeApplication) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.port = port
        self.events = events
        self.application = application


async def boom(request: Request) -> Response:
    raise RuntimeError("a bug in a route")


@pytest.fixture
async def edge() -> AsyncIterator[Edge]:
    events: list[ZaloEventIn] = []
    application = FakeApplication()

    async def record(event: ZaloEventIn) -> None:
        events.append(event)

    routes = [
        zalo_webhook_route(record, app_id=APP_ID, secret=SECRET),
        telegram_webhook_route(application, TG_SECRET),
        Route("/boom", boom, methods=["GET"]),
    ]
    port = free_port()
    server = HttpServer(build_http_app(routes, max_body_bytes=LIMIT), host="127.0.0.1", port=port)
    await server.start()
    try:
        yield Edge(port, events, application)
    finally:
        await server.stop()


async def raw_request(port: int, head: bytes, body_chunks: list[bytes]) -> tuple[int, float]:
    """Send a request by hand (to lie about or stream the body); returns the status and seconds taken."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    try:
        for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server answered and closed while we were still sending: that is the point
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return int(line.split()[1]), time.perf_counter() - started


async def test_an_oversized_declared_body_is_refused_before_it_is_read(edge: Edge) -> None:
    head = (b"POST /zalo/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000000\r\n\r\n")  # fmt: skip
    status, seconds = await raw_request(edge.port, head, [b"{" * 1000])
    assert status == 413 and seconds < 5
    status, _ = await raw_request(edge.port, head.replace(b"/zalo/webhook", b"/telegram/webhook"), [b"{"])
    assert status == 413
    bad = b"POST /zalo/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
    assert (await raw_request(edge.port, bad, []))[0] == 400
    assert edge.events == []


async def test_a_streamed_body_is_cut_off_at_the_limit(edge: Edge) -> None:
    head = b"POST /zalo/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"a" * 16_000
    framed = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(200)] + [b"0\r\n\r\n"]
    status, _ = await raw_request(edge.port, head, framed)  # 3.2 MB announced nowhere
    assert status == 413
    assert edge.events == []


def nested(depth: int) -> bytes:
    return b'{"timestamp": "1", "a": ' + b"[" * depth + b"]" * depth + b"}"


async def test_malformed_bodies_get_4xx_never_500_and_no_traceback(
    edge: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    now = str(int(time.time() * 1000))
    junk = [nested(100_000)[:LIMIT - 10], b"[" * 50_000, b"\xff\xfe\x00garbage", b"", b"null", b"[1,2]",
            "\ud800".encode("utf-8", "surrogatepass")]  # fmt: skip
    async with httpx.AsyncClient() as client:
        for body in junk:
            unsigned = await client.post(edge.base + "/zalo/webhook", content=body)
            assert 400 <= unsigned.status_code < 500, (body[:20], unsigned.status_code)
            # Signed with the header timestamp, so the body itself is what is judged.
            from tests.fakes.zalo_api import zalo_signature

            headers = {"X-ZEvent-Signature": zalo_signature(APP_ID, body, now, SECRET), "X-ZEvent-Timestamp": now}
            signed = await client.post(edge.base + "/zalo/webhook", content=body, headers=headers)
            assert 400 <= signed.status_code < 500, (body[:20], signed.status_code)
            telegram = await client.post(edge.base + "/telegram/webhook", content=body,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})  # fmt: skip
            assert 400 <= telegram.status_code < 500, (body[:20], telegram.status_code)
    assert edge.events == [] and edge.application.update_queue.empty()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_every_log_line_is_json_uvicorn_and_libraries_included(tmp_path: Path) -> None:
    stream = io.StringIO()
    stray = logging.getLogger("some.library")
    stray.addHandler(logging.StreamHandler(stream))  # a library that configured its own output
    stray.propagate = False
    settings = Settings(_env_file=None, log_format="json", telegram_bot_token="123456:SECRETSECRETSECRETSECRET")  # type: ignore[call-arg]
    handler = configure_logging(settings, stream=stream)
    port = free_port()
    server = HttpServer(build_http_app([Route("/boom", boom)]), host="127.0.0.1", port=port)
    await server.start()
    try:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/boom")).status_code == 500
        stray.warning("token 123456:SECRETSECRETSECRETSECRET in a library line")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a library deprecation", DeprecationWarning, stacklevel=1)
    finally:
        await server.stop()
        logging.getLogger().removeHandler(handler)
        logging.captureWarnings(False)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r["logger"].startswith("uvicorn") and "RuntimeError" in r.get("exc", "") for r in records)
    assert any(r["logger"] == "some.library" for r in records)
    assert any(r["logger"] == "py.warnings" for r in records)
    assert "SECRETSECRET" not in stream.getvalue()


def signed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    request = sign_event(event, app_id=APP_ID, secret=SECRET)
    return request.body, request.headers


async def test_zalo_events_outside_the_freshness_window_are_refused(edge: Edge) -> None:
    now_ms = int(time.time() * 1000)
    cases = {
        "8 days old": (now_ms - 8 * 86_400_000, 400),
        "2 hours old": (now_ms - 7_200_000, 400),
        "a year ahead": (now_ms + 365 * 86_400_000, 400),
        "10 minutes ahead": (now_ms + 600_000, 400),
        "a minute old": (now_ms - 60_000, 200),
        "a few seconds ahead": (now_ms + 5_000, 200),
    }
    async with httpx.AsyncClient() as client:
        for name, (stamp, expected) in cases.items():
            body, headers = signed(text_event(APP_ID, "u1", "dang ky", f"m-{name}", timestamp=str(stamp)))
            response = await client.post(edge.base + "/zalo/webhook", content=body, headers=headers)
            assert response.status_code == expected, name
    assert [e.msg_id for e in edge.events] == ["m-a minute old", "m-a few seconds ahead"]


def test_de_duplication_outlasts_the_freshness_window() -> None:
    from bot.inbound import DONE_RETENTION

    largest = Settings.model_fields["zalo_event_max_age_seconds"].metadata
    assert any(getattr(m, "le", None) is not None and m.le <= DONE_RETENTION.total_seconds() for m in largest)
    with pytest.raises(ValueError):
        Settings(_env_file=None, zalo_event_max_age_seconds=8 * 86_400)  # type: ignore[call-arg]


def test_two_texts_without_msg_id_in_the_same_millisecond_are_two_events() -> None:
    first = text_event(APP_ID, "u1", "dang ky", "x", timestamp="1764000000000")
    second = text_event(APP_ID, "u1", "huy dang ky", "x", timestamp="1764000000000")
    for event in (first, second):
        del event["message"]["msg_id"]
    one, two = parse_event(first), parse_event(second)
    assert one.key != two.key
    assert parse_event(json.loads(json.dumps(first))).key == one.key  # a re-sent event is still a retry


async def test_metrics_need_the_token_or_a_local_caller() -> None:
    protected = build_http_app([metrics_route("s3cret-token")])
    local_only = build_http_app([metrics_route(None)])
    remote = httpx.ASGITransport(app=protected, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://bot") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})).status_code == 200
    for host, status in (("10.1.2.3", 403), ("127.0.0.1", 200)):
        transport = httpx.ASGITransport(app=local_only, client=(host, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            assert (await client.get("/metrics")).status_code == status
