"""Everything a handler may use, bundled in one :class:`Services` object built by the composition root.

Multi-step flows (a broadcast draft, a 👎 comment, a deletion confirm) live in the database through
:class:`~bot.storage.flows.FlowStore`, so every instance sees them. What stays in memory, per instance, is
here: the flood limiter and the last buttons offered, so a bare "2" can stand for the second button on
channels without buttons.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import bot.config_files  # noqa: F401  (registers every configuration file's reader)
from bot.broadcast.service import DEFAULT_CHANNELS, BroadcastService
from bot.handoff.service import HandoffService
from bot.health import Health
from bot.kb.store import KnowledgeStore
from bot.settings import Settings
from bot.storage.conversations import ConversationRecords
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.flows import FlowStore
from bot.storage.migrate import upgrade

UserKey = tuple[str, str]  # (channel, user_id)
Clock = Callable[[], dt.datetime]


def utc_clock() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class FloodVerdict(StrEnum):
    """What to do with one incoming message."""

    OK = "ok"
    NOTICE = "notice"  # first message over the limit: answer once with a polite notice
    SILENT = "silent"  # still over the limit: do not answer


class FloodLimiter:
    """At most ``limit`` messages per ``window`` seconds per user; one notice, then silence until calm."""

    def __init__(self, *, limit: int = 20, window: float = 60.0) -> None:
        self.limit = limit
        self.window = dt.timedelta(seconds=window)
        self._hits: dict[UserKey, deque[dt.datetime]] = {}
        self._noticed: set[UserKey] = set()
        self._exempt: set[str] = set()

    def exempt(self, channel: str) -> None:
        """Never limit ``channel``: for a console where the operator types, not the public."""
        self._exempt.add(channel)

    def check(self, key: UserKey, now: dt.datetime) -> FloodVerdict:
        """Count one message from ``key`` at ``now`` and say how to treat it."""
        if key[0] in self._exempt:
            return FloodVerdict.OK
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        hits.append(now)
        if len(hits) <= self.limit:
            self._noticed.discard(key)
            return FloodVerdict.OK
        if len(hits) > 2 * self.limit:  # bound memory while someone keeps hammering
            hits.popleft()
        if key in self._noticed:
            return FloodVerdict.SILENT
        self._noticed.add(key)
        return FloodVerdict.NOTICE

    def prune(self, now: dt.datetime) -> None:
        """Forget users who have been quiet for a whole window."""
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= self.window]:
            del self._hits[key]
            self._noticed.discard(key)


class ChoiceMemory:
    """The data buttons last offered to each user, by the number typed for each (1, 2, … or a fixed one)."""

    def __init__(self, *, ttl: float = 1800.0) -> None:
        self.ttl = dt.timedelta(seconds=ttl)
        self._items: dict[UserKey, tuple[dict[int, str], dt.datetime]] = {}

    def remember(self, key: UserKey, data: Sequence[str] | Mapping[int, str], now: dt.datetime) -> None:
        """Remember the user's numbered choices (a sequence counts from 1); replies without buttons keep the
        earlier ones."""
        if data:
            numbered = dict(data) if isinstance(data, Mapping) else dict(enumerate(data, 1))
            self._items[key] = (numbered, now)

    def choices(self, key: UserKey, now: dt.datetime) -> dict[int, str]:
        """The live numbered choices of ``key`` (number → button data), or ``{}``."""
        item = self._items.get(key)
        if item is None:
            return {}
        if now - item[1] >= self.ttl:
            del self._items[key]
            return {}
        return dict(item[0])

    def forget(self, key: UserKey) -> None:
        """Drop the user's choices."""
        self._items.pop(key, None)


@dataclass
class Services:
    """What every handler receives: knowledge, storage, settings, a clock, conversation flows and memory."""

    knowledge: KnowledgeStore
    sessions: sessionmaker[Session]
    settings: Settings
    clock: Clock = utc_clock
    flood: FloodLimiter = field(default_factory=FloodLimiter)
    choices: ChoiceMemory = field(default_factory=ChoiceMemory)
    engine: Engine | None = None
    health: Health = field(default_factory=Health)
    records: ConversationRecords = field(init=False)
    flows: FlowStore = field(init=False)
    broadcasts: BroadcastService = field(init=False)
    handoff: HandoffService = field(init=False)

    def __post_init__(self) -> None:
        self.records = ConversationRecords(self.sessions, lambda: self.clock(), self.health)
        self.flows = FlowStore(self.sessions, lambda: self.clock())
        # the composition root replaces the channels with those it runs
        self.broadcasts = BroadcastService(self.sessions, lambda: self.clock(), DEFAULT_CHANNELS)
        self.handoff = HandoffService(
            self.sessions,
            lambda: self.clock(),
            office_hours=self.settings.office_hours,
            timezone=self.settings.bot_timezone,
        )

    def close(self) -> None:
        """Release the database connections."""
        if self.engine is not None:
            self.engine.dispose()


def build_services(
    settings: Settings, *, knowledge: KnowledgeStore | None = None, clock: Clock = utc_clock
) -> Services:
    """Migrate the database to head, open the knowledge base and bundle everything for the handlers."""
    upgrade(settings.database_url)
    engine = create_engine_for(settings.database_url)
    store = (
        knowledge
        if knowledge is not None
        else KnowledgeStore.open(settings.knowledge_dir, snapshot_dir=settings.knowledge_snapshot_dir)
    )
    return Services(
        knowledge=store,
        sessions=make_sessionmaker(engine),
        settings=settings,
        clock=clock,
        engine=engine,
    )
