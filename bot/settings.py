"""Typed settings read once from the environment (and an optional ``.env`` file); see INTERFACE §3."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the bot reads. Built once in the composition root, never at import time."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    database_url: str = "sqlite:///data/bot.db"
    knowledge_dir: Path = Path("knowledge")
    admin_telegram_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    bot_timezone: str = "Asia/Ho_Chi_Minh"
    http_port: int = 8080
    http_max_body_bytes: int = Field(default=1_000_000, ge=1024)  # larger request bodies get 413 on every route
    http_metrics_token: SecretStr | None = None  # bearer token for /metrics; unset: only callers on this host
    log_level: str = "INFO"
    log_format: str = "text"

    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_access_token: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    # Zalo events older than this (or over 5 minutes ahead) are refused; de-duplication keys live 7 days.
    zalo_event_max_age_seconds: int = Field(default=3600, ge=60, le=7 * 86400)

    question_log_retention_days: int = 180  # logged questions older than this are purged daily; 0 keeps them
    delivery_retention_days: int = 90  # delivery rows of notices that ended longer ago are purged daily; 0 keeps

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        """Accept ``"123, 456"`` as well as a list."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return frozenset(int(p) for p in parts if p)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "http_metrics_token",
        "zalo_app_id",
        "zalo_app_secret",
        "zalo_oa_secret_key",
        "zalo_oa_access_token",
        "zalo_oa_refresh_token",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """Treat an empty variable (``TELEGRAM_BOT_TOKEN=``) as unset."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def zalo_enabled(self) -> bool:
        """Zalo runs only when the app id and an access or refresh token are configured."""
        return bool(self.zalo_app_id and (self.zalo_oa_access_token or self.zalo_oa_refresh_token))

    # Announcements (issue 5): Telegram's limits, retries, and how long a missed schedule may still be sent.
    broadcast_rate_per_second: float = 30.0
    broadcast_per_chat_interval: float = 1.0
    broadcast_max_attempts: int = 5
    broadcast_batch_size: int = 10
    broadcast_lease_seconds: float = 60.0
    broadcast_poll_interval: float = 0.5
    broadcast_progress_interval: float = 3.0
    schedule_grace_seconds: int = 3600
    schedule_sync_interval: float = 5.0
