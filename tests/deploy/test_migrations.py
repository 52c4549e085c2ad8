"""``python -m bot db …`` and every Alembic revision, one step up and one step down, on SQLite and PostgreSQL.

Revisions are discovered from the script directory, so a new revision is covered without editing this file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.__main__ import main
from bot.cli.db import display_url
from bot.settings import Settings
from bot.storage import migrate
from bot.storage.db import create_engine_for

Schema = dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # table -> (columns, indexes)


def revisions() -> list[str]:
    """Every revision from the oldest to the newest; the history must be a single line."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    ordered = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert len(script.get_heads()) == 1, "migrations have branched: merge them"
    return ordered


def schema(url: str) -> Schema:
    """Tables (without Alembic's own) with their column and index names."""
    engine = create_engine_for(url)
    try:
        inspector = inspect(engine)
        return {
            table: (
                tuple(sorted(c["name"] for c in inspector.get_columns(table))),
                tuple(sorted(str(i["name"]) for i in inspector.get_indexes(table))),
            )
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> str:
    """Run the CLI against ``db_url`` from an empty folder (no stray .env); returns the URL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(cli: str) -> None:
    steps = revisions()
    assert steps[0] == "0001_initial"
    snapshots: list[Schema] = [schema(cli)]
    assert snapshots[0] == {}
    for revision in steps:
        assert main(["db", "upgrade", "--revision", revision]) == 0
        assert migrate.current_revision(cli) == revision
        snapshots.append(schema(cli))
        assert snapshots[-1] != snapshots[-2], f"{revision} changed nothing"

    head = snapshots[-1]
    assert {"users", "question_logs", "feedback"} <= set(snapshots[1])
    assert set(head) == set(migrate.target_metadata().tables), "models and migrations declare different tables"

    for index in range(len(steps) - 1, -1, -1):
        target = steps[index - 1] if index else "base"
        assert main(["db", "downgrade", target]) == 0
        assert migrate.current_revision(cli) == (None if target == "base" else target)
        assert schema(cli) == snapshots[index], f"downgrade of {steps[index]} did not undo its upgrade"
    assert schema(cli) == {}


def test_upgrade_defaults_to_head_and_current_reports_it(cli: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 1  # never migrated
    assert "(none)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert migrate.current_revision(cli) == migrate.head_revision()
    capsys.readouterr()
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{migrate.head_revision()} (head)"
    if len(revisions()) > 1:
        assert main(["db", "downgrade", "-1"]) == 0
        assert main(["db", "current"]) == 1
        assert "db upgrade" in capsys.readouterr().out


def test_messages_show_the_database_without_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = display_url(Settings(database_url="postgresql://bot:hunter2secret@db:5432/bot", _env_file=None))
    assert "hunter2secret" not in shown and "db:5432/bot" in shown
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "bot.db" in out and str(migrate.head_revision()) in out
