"""The in-memory conversation state and the services bundle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.messages import IncomingMessage
from bot.services import ChoiceMemory, FloodLimiter, FloodVerdict, Services, build_services
from bot.settings import Settings
from bot.storage import migrate
from handlers import texts
from handlers.routes import handle

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_flood_limiter_is_configurable_and_per_user() -> None:
    flood = FloodLimiter(limit=2, window=10)
    key = ("test", "a")
    assert [flood.check(key, at(i)) for i in range(4)] == [
        FloodVerdict.OK,
        FloodVerdict.OK,
        FloodVerdict.NOTICE,
        FloodVerdict.SILENT,
    ]
    assert flood.check(("test", "b"), at(4)) is FloodVerdict.OK
    assert flood.check(key, at(30)) is FloodVerdict.OK
    flood.prune(at(100))
    assert flood._hits == {}


def test_choice_memory_expires() -> None:
    memory = ChoiceMemory(ttl=5)
    memory.remember(("t", "a"), ["m:root"], T0)
    memory.remember(("t", "a"), [], at(1))  # a reply without buttons keeps the choices
    assert memory.choices(("t", "a"), at(2)) == {1: "m:root"}
    assert memory.choices(("t", "a"), at(6)) == {}
    memory.remember(("t", "a"), {9: "m:next", 0: "m:root"}, at(7))  # fixed numbers are kept as given
    assert memory.choices(("t", "a"), at(8)) == {9: "m:next", 0: "m:root"}


def test_build_services_migrates_to_head(kb_dir: Path, sqlite_url: str) -> None:
    built = build_services(Settings(database_url=sqlite_url, knowledge_dir=kb_dir, _env_file=None))
    try:
        assert migrate.current_revision(sqlite_url) == migrate.head_revision()
        assert len(built.knowledge.kb.entries) == 6
    finally:
        built.close()


async def test_a_failing_handler_gets_a_polite_error(services: Services, sqlite_url: str) -> None:
    migrate.downgrade(sqlite_url, "base")  # the database is gone from under the bot
    msg = IncomingMessage(channel="test", user_id="u", chat_id="u", text="/start")
    [reply] = await handle(msg, services)
    assert reply.text.startswith("Xin chào")  # refreshing the user row is best-effort: the greeting still goes out
    vote = IncomingMessage(channel="test", user_id="u", chat_id="u", button_data="fb:e:vneid-cai-dat:1")
    [reply] = await handle(vote, services)  # a vote needs the database: a polite error, no crash
    assert reply.text == texts.ERROR
