"""Leader election: on PostgreSQL the process holding an advisory lock runs the scheduler; SQLite is always leader.

The lock is held on a dedicated connection; when that connection dies (or the process does), PostgreSQL
frees the lock and another process takes it on its next try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from bot.storage.db import create_engine_for, normalize_url

log = logging.getLogger(__name__)

LOCK_KEY = 0x54524F4C  # "TROL"; the second half of the lock is the schema, so one scheduler per schema
Callback = Callable[[], Awaitable[None]]


class LeaderElection:
    """Tries to become leader every ``interval`` seconds and checks the lock is still held."""

    def __init__(self, url: str | URL, *, key: int = LOCK_KEY, interval: float = 2.0) -> None:
        self.url = normalize_url(url)
        self.key = key
        self.interval = interval
        self.is_leader = False
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    @property
    def uses_lock(self) -> bool:
        """True on PostgreSQL; SQLite has a single process by design and needs no election."""
        return self.url.get_backend_name() == "postgresql"

    def _try_acquire(self) -> bool:
        if self._engine is None:
            self._engine = create_engine_for(self.url, poolclass=NullPool)
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        query = text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))")
        return bool(self._conn.execute(query, {"k": self.key}).scalar())

    def _still_held(self) -> bool:
        if self._conn is None:
            return False
        query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted")
        return bool(self._conn.execute(query).scalar())

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    async def run(self, stop: asyncio.Event, on_elected: Callback, on_lost: Callback) -> None:
        """Campaign until ``stop``; call ``on_elected`` / ``on_lost`` as leadership changes."""
        try:
            if not self.uses_lock:
                self.is_leader = True
                await on_elected()
                await stop.wait()
                return
            while not stop.is_set():
                try:
                    if self.is_leader:
                        held = await asyncio.to_thread(self._still_held)
                    else:
                        held = await asyncio.to_thread(self._try_acquire)
                except Exception as exc:
                    log.warning("leader election: database connection problem (%s)", exc)
                    held = False
                    await asyncio.to_thread(self._close)
                if held and not self.is_leader:
                    self.is_leader = True
                    log.info("this process now runs the scheduler")
                    await on_elected()
                elif not held and self.is_leader:
                    self.is_leader = False
                    log.warning("lost the scheduler lock")
                    await on_lost()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
        finally:
            if self.is_leader:
                self.is_leader = False
                with contextlib.suppress(Exception):
                    await on_lost()
            await asyncio.to_thread(self._close)
            if self._engine is not None:
                self._engine.dispose()
