"""The HTTP server pieces: health check answers and the webhook secret."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import httpx

from bot.app import services_health
from bot.channels.http import HttpServer, build_http_app, health_route, telegram_webhook_secret
from bot.kb.store import KnowledgeStore
from bot.services import Services, build_services
from bot.settings import Settings
from bot.storage.db import create_engine_for, make_sessionmaker
from tests.fakes.telegram_api import free_port


def _settings(tmp_path: Path, kb_dir: Path, **extra: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        knowledge_dir=kb_dir,
        **extra,  # type: ignore[arg-type]
    )


def test_webhook_secret_is_derived_from_the_token_or_configured(tmp_path: Path, kb_dir: Path) -> None:
    derived = telegram_webhook_secret(_settings(tmp_path, kb_dir, telegram_bot_token="123:ABC"))
    expected = hmac.new(b"123:ABC", b"telegram-webhook", hashlib.sha256).hexdigest()[:32]
    assert derived == expected
    assert derived == telegram_webhook_secret(_settings(tmp_path, kb_dir, telegram_bot_token="123:ABC"))
    assert derived != telegram_webhook_secret(_settings(tmp_path, kb_dir, telegram_bot_token="123:ABD"))
    explicit = _settings(tmp_path, kb_dir, telegram_bot_token="123:ABC", telegram_webhook_secret="my_secret-1")
    assert telegram_webhook_secret(explicit) == "my_secret-1"


async def test_healthz_ok_and_unavailable(tmp_path: Path, kb_dir: Path) -> None:
    settings = _settings(tmp_path, kb_dir)
    healthy = build_services(settings)
    broken = Services(  # a real engine whose database cannot be reached
        knowledge=KnowledgeStore.open(kb_dir),
        sessions=make_sessionmaker(create_engine_for("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")),
        settings=settings,
    )
    try:
        for services, status in ((healthy, 200), (broken, 503)):
            port = free_port()
            server = HttpServer(build_http_app([health_route(services_health(services))]), host="127.0.0.1", port=port)
            await server.start()
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{port}/healthz")
                    missing = await client.get(f"http://127.0.0.1:{port}/telegram/webhook")
            finally:
                await server.stop()
            assert response.status_code == status
            assert response.json()["database"] is (status == 200)
            assert response.json()["knowledge_entries"] == 6
            assert missing.status_code == 404  # no webhook route in polling mode
    finally:
        healthy.close()
