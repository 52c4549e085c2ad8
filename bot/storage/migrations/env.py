"""Alembic environment: runs on the connection ``bot.storage.migrate`` hands over, or on the configured URL.

Generic on purpose: any module that declares tables on ``bot.storage.models.Base`` and is imported in
``bot.storage.migrate.METADATA_MODULES`` takes part in autogenerate comparisons.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.storage.db import create_engine_for
from bot.storage.migrate import target_metadata

config = context.config


def _run(connection: Connection) -> None:
    """Configure the context on ``connection`` and run the migrations in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the given connection, or open one from ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_for(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use bot.storage.migrate.upgrade")
run_migrations_online()
