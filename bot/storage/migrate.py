"""Run the Alembic migrations programmatically: no alembic.ini is needed at run time."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import URL

from bot.storage.db import create_engine_for

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Modules that declare tables on ``Base``; later features append theirs so autogenerate sees them.
METADATA_MODULES: list[str] = [
    "bot.storage.models", "bot.broadcast.models", "bot.channels.zalo.models", "bot.inbound", "bot.handoff.models",
    "bot.channels.webchat.models",
]


def target_metadata() -> MetaData:
    """The metadata of every table the migrations manage."""
    for name in METADATA_MODULES:
        importlib.import_module(name)
    from bot.storage.models import Base

    return Base.metadata


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def _run(url: str | URL, action: str, revision: str) -> None:
    """Open one connection and run ``action`` ("upgrade"/"downgrade") to ``revision`` on it.

    Alembic's own INFO lines (one per step, and its dialect notes) are held back: the bot's first screen in the
    terminal should be its greeting. One line says what changed instead, at INFO when an existing schema moved.
    """
    cfg = alembic_config()
    engine = create_engine_for(url)
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    if not log.isEnabledFor(logging.DEBUG):
        alembic_log.setLevel(logging.WARNING)
    try:
        with engine.begin() as connection:
            before = MigrationContext.configure(connection).get_current_revision()
            cfg.attributes["connection"] = connection
            if action == "upgrade":
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
            after = MigrationContext.configure(connection).get_current_revision()
    finally:
        alembic_log.setLevel(level)
        engine.dispose()
    if before != after:
        # A brand-new database is routine (first start); moving an existing schema is worth an operator's eye.
        log.log(
            logging.DEBUG if before is None else logging.INFO,
            "database schema %s: %s -> %s",
            action,
            before or "(empty)",
            after or "(empty)",
        )


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    _run(url, "upgrade", revision)


def downgrade(url: str | URL, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``"base"`` drops every table)."""
    _run(url, "downgrade", revision)


def head_revision() -> str | None:
    """The newest revision shipped with the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str | URL) -> str | None:
    """The revision the database at ``url`` is at, or None when it was never migrated."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
