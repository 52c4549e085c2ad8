"""Typed settings read once from the environment (and an optional ``.env`` file); the README lists them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
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
    knowledge_review_days: int = Field(default=180, gt=0)  # kb check and `report review`: entries older are due
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

    messenger_page_access_token: SecretStr | None = None
    messenger_app_secret: SecretStr | None = None
    messenger_verify_token: SecretStr | None = None
    messenger_api_base_url: str = "https://graph.facebook.com"
    staff_group_chat_id: int | None = None  # the Telegram group where staff take citizens' questions and reports
    office_hours: str = "mon-fri 07:30-11:30,13:30-17:00"  # when staff answer; empty: any time
    handoff_remind_minutes: int = 30  # an unclaimed question is reminded to the staff group once after this

    question_log_retention_days: int = 180  # logged questions older than this are purged daily; 0 keeps them
    delivery_retention_days: int = 90  # delivery rows of notices that ended longer ago are purged daily; 0 keeps
    feedback_comment_retention_days: int = 180  # 👎 comments older than this are erased daily; 0 keeps them
    inactive_user_retention_days: int = 365  # users silent this long, with no subscription, are deleted; 0 keeps
    knowledge_snapshot_dir: Path = Path("data/knowledge-snapshot")  # last knowledge base that loaded cleanly

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
        "staff_group_chat_id",
        "telegram_webhook_secret",
        "http_metrics_token",
        "zalo_app_id",
        "zalo_app_secret",
        "zalo_oa_secret_key",
        "zalo_oa_access_token",
        "zalo_oa_refresh_token",
        "messenger_page_access_token",
        "messenger_app_secret",
        "messenger_verify_token",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """Treat an empty variable (``TELEGRAM_BOT_TOKEN=``) as unset."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _find_knowledge_dir(self) -> Settings:
        """Outside the project folder, an unset ``KNOWLEDGE_DIR`` means the project's own ``knowledge/`` folder,
        so the installed ``tro-ly-so kb check`` works from anywhere."""
        if "knowledge_dir" not in self.model_fields_set and not self.knowledge_dir.exists():
            project = Path(__file__).resolve().parents[1] / "knowledge"
            if project.is_dir():
                self.knowledge_dir = project
        return self

    @property
    def zalo_enabled(self) -> bool:
        """Zalo runs only when the app id and an access or refresh token are configured."""
        return bool(self.zalo_app_id and (self.zalo_oa_access_token or self.zalo_oa_refresh_token))

    @property
    def messenger_enabled(self) -> bool:
        """Messenger runs when the page access token is configured (the app secret is then required)."""
        return self.messenger_page_access_token is not None

    # Announcements: Telegram's limits, retries, and how long a missed schedule may still be sent.
    broadcast_rate_per_second: float = 30.0
    broadcast_per_chat_interval: float = 1.0
    broadcast_max_attempts: int = 5
    broadcast_batch_size: int = 10
    broadcast_lease_seconds: float = 60.0
    broadcast_poll_interval: float = 0.5
    broadcast_progress_interval: float = 3.0
    schedule_grace_seconds: int = 3600
    schedule_sync_interval: float = 5.0

    # Web chat widget on the ward's portal: /widget.js, /demo and the chat API on HTTP_PORT.
    webchat_enabled: bool = False
    webchat_allowed_origins: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    webchat_visitor_messages_per_minute: int = 20
    webchat_ip_requests_per_minute: int = 240
    webchat_proxy_hops: int = 0  # reverse proxies in front that append to X-Forwarded-For (for the per-IP limit)

    @field_validator("webchat_allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        """Accept ``"https://a.gov.vn, https://b.gov.vn/"``: scheme://host[:port], lower case, no slash."""
        if isinstance(value, str):
            value = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(str(p).strip().rstrip("/").lower() for p in value)
        return value

    # Inbound durability: how long an update stays with the process answering it before another takes it over,
    # and how old an unanswered update may be before the person gets an apology instead of a late answer.
    inbound_lease_seconds: float = 90.0
    inbound_answer_deadline: float = 900.0
