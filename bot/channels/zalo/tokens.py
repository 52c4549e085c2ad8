"""The OA's access and refresh tokens: kept in the database, refreshed ahead of expiry by one process at a time.

Zalo's access token lives about 25 hours; the refresh token about three months and works **once**, so two
processes refreshing together would leave one of them (and then everyone) with a dead token. Every refresh
therefore runs under a lock and re-reads the row first: whoever gets the lock second finds new tokens and
uses them instead of refreshing again.

- PostgreSQL: ``SELECT … FOR UPDATE`` on the token row, held over the OAuth call (the lock dies with the
  connection if the process does).
- SQLite: a lease on the same row (``lock_owner``/``lock_until``) taken by an ``UPDATE`` in an ``IMMEDIATE``
  transaction, so separate processes on one file exclude each other too; the OAuth call runs outside any
  transaction and a crashed owner's lease simply expires.

A refused refresh (``-14020`` and kin: the refresh token is dead) raises :class:`TokenRefused`; the channel
alerts staff once. Network failures and 5xx answers raise :class:`RefreshFailed` and are retried later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.zalo.models import TOKEN_ROW_ID, ZaloToken
from bot.logs import register_secret
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

REFRESH_PATH = "/v4/oa/access_token"
DEFAULT_ACCESS_SECONDS = 25 * 3600  # when Zalo's answer carries no expires_in
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=90)
REFRESH_MARGIN = dt.timedelta(hours=1)  # refresh this long before the access token expires
CACHE_SECONDS = 60.0  # re-read the row this often, to pick up another instance's refresh

Clock = Callable[[], dt.datetime]
Alert = Callable[["TokenRefused"], Awaitable[None]]


class TokenRefused(Exception):
    """Zalo refused the refresh token (expired, used already, revoked); a person must issue new tokens."""

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RefreshFailed(Exception):
    """The refresh could not be done now (network error, 5xx, lock wait timed out); try again later."""


@dataclass(frozen=True)
class Tokens:
    """A snapshot of the token row."""

    access_token: str | None
    refresh_token: str | None
    access_expires_at: dt.datetime | None


def fingerprint(access_token: str | None, refresh_token: str | None) -> str | None:
    """A short hash of the configured tokens: a change means an operator issued new ones."""
    if not access_token and not refresh_token:
        return None
    raw = f"{access_token or ''}\n{refresh_token or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def _snapshot(row: ZaloToken) -> Tokens:
    return Tokens(row.access_token, row.refresh_token, row.access_expires_at)


class ZaloTokens:
    """Loads, caches and refreshes the OA tokens; every method that blocks has an async twin."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        app_id: str,
        app_secret: str,
        oauth_base_url: str,
        clock: Clock = utcnow,
        margin: dt.timedelta = REFRESH_MARGIN,
        lease_seconds: float = 30.0,
        timeout: float = 10.0,
        on_refused: Alert | None = None,
    ) -> None:
        self.sessions = sessions
        self.app_id = app_id
        self.app_secret = app_secret
        self.refresh_url = oauth_base_url.rstrip("/") + REFRESH_PATH
        self.clock = clock
        self.margin = margin
        self.lease_seconds = lease_seconds
        self.timeout = timeout
        self.on_refused = on_refused
        self.owner = secrets.token_hex(8)
        self.refresh_calls = 0  # OAuth calls made by this process (tests and logs)
        self._cached: Tokens | None = None
        self._cached_at = 0.0
        self._refused: tuple[str, TokenRefused] | None = None  # (refresh token, what Zalo said about it)
        self._lock = asyncio.Lock()
        self._alerted: str | None = None  # the refused refresh token staff were told about

    # ----- storage -----------------------------------------------------------------------------------------

    def _dialect(self) -> str:
        with self.sessions() as session:
            return session.get_bind().dialect.name

    def seed(self, access_token: str | None, refresh_token: str | None) -> None:
        """Create the token row from the settings, or replace it when the configured tokens changed."""
        mark = fingerprint(access_token, refresh_token)
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(ZaloToken, TOKEN_ROW_ID)
            if row is None:
                session.add(
                    ZaloToken(
                        id=TOKEN_ROW_ID,
                        access_token=access_token,
                        refresh_token=refresh_token,
                        seeded_from=mark,
                        refresh_count=0,
                        updated_at=now,
                    )
                )
                log.info("Zalo tokens stored from the settings")
            elif mark is not None and row.seeded_from != mark:
                row.access_token, row.refresh_token = access_token, refresh_token
                row.access_expires_at = row.refresh_expires_at = None
                row.seeded_from, row.updated_at = mark, now
                log.info("the configured Zalo tokens changed; the stored ones were replaced")
            for value in (row.access_token, row.refresh_token) if row is not None else (access_token, refresh_token):
                if value:
                    register_secret(value)
        self._cached = None

    def load(self) -> Tokens:
        """The stored tokens (empty when the row does not exist yet)."""
        with self.sessions() as session:
            row = session.get(ZaloToken, TOKEN_ROW_ID)
            return Tokens(None, None, None) if row is None else _snapshot(row)

    def _needs_refresh(self, tokens: Tokens, stale: str | None) -> bool:
        if stale is not None:  # the API rejected ``stale``: refresh unless someone already replaced it
            return tokens.access_token in (None, stale)
        if tokens.access_token is None:
            return True
        expires = tokens.access_expires_at
        return expires is not None and expires - self.clock() <= self.margin

    # ----- refreshing --------------------------------------------------------------------------------------

    def refresh_sync(self, *, stale: str | None = None) -> Tokens:
        """Refresh under the lock if still needed (``stale``: the token the API just rejected)."""
        row_lock = self._dialect() == "postgresql"
        tokens = self._refresh_row_lock(stale) if row_lock else self._refresh_lease(stale)
        self._cached, self._cached_at = tokens, time.monotonic()
        return tokens

    def _refresh_row_lock(self, stale: str | None) -> Tokens:
        with self.sessions.begin() as session:
            row = session.execute(
                select(ZaloToken).where(ZaloToken.id == TOKEN_ROW_ID).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise TokenRefused("no Zalo tokens are stored")
            if not self._needs_refresh(_snapshot(row), stale):
                return _snapshot(row)
            self._apply(row, self._call_oauth(row.refresh_token))
            return _snapshot(row)

    def _refresh_lease(self, stale: str | None) -> Tokens:
        deadline = time.monotonic() + self.lease_seconds + 5
        while not self._take_lease():
            if time.monotonic() > deadline:
                raise RefreshFailed("timed out waiting for another process to refresh the Zalo token")
            time.sleep(0.05)
        try:
            current = self.load()
            if not self._needs_refresh(current, stale):
                return current
            answer = self._call_oauth(current.refresh_token)
            with self.sessions.begin() as session:
                row = session.get(ZaloToken, TOKEN_ROW_ID)
                if row is None or row.lock_owner != self.owner:
                    log.error("lost the Zalo token lease during a refresh; keeping the new tokens anyway")
                if row is None:
                    raise RefreshFailed("the Zalo token row disappeared during a refresh")
                self._apply(row, answer)
                return _snapshot(row)
        finally:
            self._release_lease()

    def _take_lease(self) -> bool:
        now = self.clock()
        with self.sessions.begin() as session:  # BEGIN IMMEDIATE on SQLite: one writer at a time
            result = session.execute(
                update(ZaloToken)
                .where(
                    ZaloToken.id == TOKEN_ROW_ID,
                    or_(ZaloToken.lock_until.is_(None), ZaloToken.lock_until < now, ZaloToken.lock_owner == self.owner),
                )
                .values(lock_owner=self.owner, lock_until=now + dt.timedelta(seconds=self.lease_seconds))
            )
            if int(getattr(result, "rowcount", 0)) == 1:
                return True
            if session.get(ZaloToken, TOKEN_ROW_ID) is None:
                raise TokenRefused("no Zalo tokens are stored")
            return False

    def _release_lease(self) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(ZaloToken)
                .where(ZaloToken.id == TOKEN_ROW_ID, ZaloToken.lock_owner == self.owner)
                .values(lock_owner=None, lock_until=None)
            )

    def _apply(self, row: ZaloToken, answer: dict[str, Any]) -> None:
        now = self.clock()
        try:
            seconds = int(answer.get("expires_in") or DEFAULT_ACCESS_SECONDS)
        except (TypeError, ValueError):
            seconds = DEFAULT_ACCESS_SECONDS
        row.access_token = str(answer["access_token"])
        row.refresh_token = str(answer.get("refresh_token") or row.refresh_token or "") or None
        row.access_expires_at = now + dt.timedelta(seconds=seconds)
        row.refresh_expires_at = now + REFRESH_TOKEN_LIFETIME
        row.refreshed_at = row.updated_at = now
        row.refresh_count = (row.refresh_count or 0) + 1
        log.info("Zalo access token refreshed; valid until %s", row.access_expires_at.isoformat(timespec="minutes"))

    def _call_oauth(self, refresh_token: str | None) -> dict[str, Any]:
        """One OAuth call; the answer when it holds an access token, else :class:`TokenRefused`."""
        if not refresh_token:
            raise TokenRefused("no Zalo refresh token is stored")
        if self._refused is not None and self._refused[0] == refresh_token:
            raise self._refused[1]  # Zalo already said no to this very token: do not ask again
        self.refresh_calls += 1
        try:
            response = httpx.post(
                self.refresh_url,
                headers={"secret_key": self.app_secret},
                data={"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as err:
            raise RefreshFailed(f"Zalo OAuth unreachable: {type(err).__name__}") from err
        if response.status_code >= 500:
            raise RefreshFailed(f"Zalo OAuth answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("access_token"):
            for key in ("access_token", "refresh_token"):
                if body.get(key):
                    register_secret(str(body[key]))
            self._refused = None
            return body
        code: int | None = None
        reason = f"HTTP {response.status_code}"
        if isinstance(body, dict):
            raw = body.get("error")
            try:
                code = int(raw) if raw is not None else None
            except (TypeError, ValueError):
                code = None
            reason = str(body.get("error_description") or body.get("error_name") or body.get("message") or reason)
        refused = TokenRefused(reason, code=code)
        self._refused = (refresh_token, refused)
        raise refused

    # ----- async face --------------------------------------------------------------------------------------

    async def access_token(self) -> str:
        """A usable access token, refreshing first when it is missing or about to expire."""
        cached = self._cached
        if cached is None or time.monotonic() - self._cached_at > CACHE_SECONDS:
            cached = await asyncio.to_thread(self.load)
            self._cached, self._cached_at = cached, time.monotonic()
        if self._needs_refresh(cached, None):
            cached = await self.refresh()
        if cached.access_token is None:
            raise TokenRefused("no Zalo access token")
        return cached.access_token

    async def refresh(self, stale: str | None = None) -> Tokens:
        """Refresh (once per process at a time, and once across processes) unless already done."""
        async with self._lock:
            cached = self._cached
            if stale is not None and cached is not None and cached.access_token not in (None, stale):
                return cached  # another task of this process refreshed while we waited
            try:
                return await asyncio.to_thread(self.refresh_sync, stale=stale)
            except TokenRefused as err:
                await self._alert(err)
                raise

    async def _alert(self, err: TokenRefused) -> None:
        """Log at ERROR and tell staff, once per refused refresh token."""
        refused = self._refused[0] if self._refused is not None else ""
        if self._alerted == refused:
            return
        self._alerted = refused
        log.error(
            "Zalo refused to refresh the OA access token (code %s: %s); new tokens are needed", err.code, err.reason
        )
        if self.on_refused is not None:
            try:
                await self.on_refused(err)
            except Exception:
                log.exception("could not alert staff about the refused Zalo token refresh")

    async def ensure_fresh(self) -> bool:
        """Refresh when the stored access token expires within the margin; True when a refresh happened."""
        before = self.refresh_calls
        current = await asyncio.to_thread(self.load)
        self._cached, self._cached_at = current, time.monotonic()
        if self._needs_refresh(current, None):
            await self.refresh()
        return self.refresh_calls > before
