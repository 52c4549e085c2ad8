"""The channel contract: a channel added by one registry line is started, served, routed and stopped by ``serve``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot import app
from bot.channel import Channel, ChannelHost, Priority
from bot.channels import registry
from bot.channels.registry import ChannelSpec
from bot.messages import IncomingMessage, Reply, SentMessage
from bot.services import build_services
from bot.settings import Settings
from tests.conftest import write_knowledge
from tests.fakes.telegram_api import free_port


class MemoGateway:
    """Records what it was asked to send."""

    channel = "memo"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Priority]] = []

    async def send(
        self, chat_id: str, replies: Sequence[Reply], *, priority: Priority = Priority.REPLY
    ) -> list[SentMessage]:
        self.sent.extend((chat_id, r.text, priority) for r in replies)
        return [SentMessage(message_id=str(len(self.sent)))]


class MemoChannel:
    """A minimal channel: one route that turns a posted text into a routed message."""

    name = "memo"

    def __init__(self, host: ChannelHost) -> None:
        self.host = host
        self._gateway = MemoGateway()
        self.events: list[str] = []

    @property
    def gateway(self) -> MemoGateway:
        return self._gateway

    def routes(self) -> list[BaseRoute]:
        async def post(request: Request) -> JSONResponse:
            body = await request.json()
            msg = IncomingMessage(channel="memo", user_id=body["user"], chat_id=body["user"], text=body["text"])
            replies = await self.host.handle(msg)
            await self._gateway.send(msg.chat_id, replies)
            return JSONResponse({"replies": len(replies)})

        return [Route("/memo", post, methods=["POST"])]

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    async def eligibility(self, chat_id: str) -> str | None:
        return None

    def secrets(self) -> list[str]:
        return ["memo-secret-value"]


async def test_a_registered_channel_runs_through_the_one_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[MemoChannel] = []

    def build(settings: Settings, host: ChannelHost) -> Channel:
        channel = MemoChannel(host)
        built.append(channel)
        return channel

    monkeypatch.setattr(registry, "CHANNELS", [ChannelSpec("memo", lambda s: True, build)])
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}", knowledge_dir=write_knowledge(tmp_path / "kb"),
                        http_port=free_port(), _env_file=None)
    assert [s.name for s in registry.configured_channels(settings)] == ["memo"]
    stop = asyncio.Event()
    task = asyncio.create_task(app.serve(settings, build_services(settings), stop=stop, host="127.0.0.1"))
    base = f"http://127.0.0.1:{settings.http_port}"
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(500):
            assert not task.done(), "serve stopped during startup"
            try:
                if (await client.get(base + "/healthz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)
        response = await client.post(base + "/memo", json={"user": "u1", "text": "/start"})
        assert response.status_code == 200 and response.json()["replies"] >= 1
    stop.set()
    assert await asyncio.wait_for(task, 20) == 0
    channel = built[0]
    assert channel.events == ["start", "stop"]
    assert channel.gateway.sent and channel.gateway.sent[0][0] == "u1"
    assert isinstance(channel, Channel)
