"""Engine and session creation for SQLite (WAL, foreign keys) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Result, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.base import Executable


def normalize_url(url: str | URL) -> URL:
    """Return ``url`` as a SQLAlchemy URL, using the psycopg 3 driver for plain ``postgresql://``."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _prepare_sqlite_file(url: URL) -> None:
    """Create the folder that holds a file-based SQLite database (``data/`` for the default URL)."""
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(engine: Engine) -> None:
    """Turn on foreign keys and WAL, and let SQLAlchemy (not pysqlite) emit BEGIN so SAVEPOINTs work.

    Transactions begin IMMEDIATE: a deferred transaction that reads and then writes fails at once with
    "database is locked" (SQLITE_BUSY_SNAPSHOT, no busy wait) when another connection wrote in between, which
    the broadcast workers do many times a second; IMMEDIATE waits its turn under ``busy_timeout`` instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL this never corrupts: a crashed process loses nothing, a power cut at most the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        # Leaving autocommit resets pysqlite to its implicit transactions; the hooks above need them off.
        if dbapi_connection is not None:
            dbapi_connection.isolation_level = None


def create_engine_for(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL and foreign keys, PostgreSQL the psycopg 3 driver."""
    parsed = normalize_url(url)
    kwargs.setdefault("hide_parameters", True)  # SQL errors must not carry what citizens typed into the logs
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        engine = create_engine(parsed, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    # No ping before every checkout (a round trip per unit of work): a connection found dead invalidates the
    # pool, single statements retry once on a fresh one (run_single), and connections are renewed hourly.
    kwargs.setdefault("pool_recycle", 3600)
    return create_engine(parsed, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def run_single(
    sessions: sessionmaker[Session], statement: Executable, params: dict[str, Any] | None = None
) -> tuple[int, list[tuple[Any, ...]]]:
    """Run one statement on its own and return (rows affected, rows returned).

    It runs in autocommit: one round trip instead of three (BEGIN, the statement, COMMIT), which is all a
    statement that is atomic by itself needs (on SQLite it still waits for the write lock under busy_timeout).
    A connection that turns out dead (the database restarted) is replaced and the statement sent once more:
    nothing was applied when the connection was already gone.
    """
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        with sessions.begin() as session:
            return _outcome(session.connection().execute(statement, params))
    for attempt in (1, 2):
        try:
            with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                return _outcome(connection.execute(statement, params))
        except DBAPIError as err:
            if attempt == 2 or not err.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _outcome(result: Result[Any]) -> tuple[int, list[tuple[Any, ...]]]:
    rows = [tuple(row) for row in result.all()] if result.returns_rows else []  # type: ignore[attr-defined]
    return int(getattr(result, "rowcount", 0)), rows
