"""Hand-off and report storage on SQLite and PostgreSQL: races, codes, deletion, purge, office hours, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff import store
from bot.handoff.hours import OfficeHours, OfficeHoursError
from bot.storage import repo
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> sessionmaker[Session]:
    """Migrated sessions on a fresh SQLite file or an isolated PostgreSQL schema."""
    url = (f"sqlite:///{tmp_path / 'bot.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    upgrade(url)
    engine = create_engine_for(url)
    request.addfinalizer(engine.dispose)
    return make_sessionmaker(engine)


def test_only_one_of_many_staff_claims_a_ticket(sessions: sessionmaker[Session]) -> None:
    ticket = store.create_ticket(sessions=sessions, channel="zalo", external_id="z1", chat_id="z1", question="?")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda n: store.claim_ticket(sessions=sessions, ticket_id=ticket.id, staff_id=f"s{n}", staff_name=None),
            range(8),
        ))
    winners = [n for n, (won, _t) in enumerate(results) if won]
    assert len(winners) == 1
    assert not store.answer_ticket(sessions=sessions, ticket_id=ticket.id, staff_id=f"s{(winners[0] + 1) % 8}",
                                   answer="x")
    assert store.answer_ticket(sessions=sessions, ticket_id=ticket.id, staff_id=f"s{winners[0]}", answer="xong")


def test_report_codes_are_unique_and_numbered_per_year(sessions: sessionmaker[Session]) -> None:
    def file(n: int) -> str:
        return store.create_report(sessions=sessions, channel="telegram", external_id=f"u{n % 3}", chat_id="1",
                                   topic="khac", description=f"sự việc số {n}", year=2026).code

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(file, range(12)))
    assert sorted(codes) == [f"PA-2026-{n:05d}" for n in range(1, 13)]
    assert store.create_report(sessions=sessions, channel="telegram", external_id="u1", chat_id="1", topic="khac",
                               description="năm mới", year=2027).code == "PA-2027-00001"


def test_reminders_are_taken_once(sessions: sessionmaker[Session]) -> None:
    old = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    store.create_ticket(sessions=sessions, channel="telegram", external_id="1", chat_id="1", question="a", now=old)
    store.create_ticket(sessions=sessions, channel="telegram", external_id="1", chat_id="1", question="b")
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with ThreadPoolExecutor(4) as pool:
        taken = list(pool.map(lambda _n: store.take_due_reminders(sessions=sessions, older_than=cutoff), range(4)))
    assert sorted(t.question for batch in taken for t in batch) == ["a"]


def test_deleting_my_data_removes_my_questions_and_reports(sessions: sessionmaker[Session]) -> None:
    store.create_ticket(sessions=sessions, channel="zalo", external_id="z9", chat_id="z9", question="q")
    report = store.create_report(sessions=sessions, channel="zalo", external_id="z9", chat_id="z9", topic="khac",
                                 description="d", contact="0912 345 678")
    with sessions.begin() as session:
        assert repo.delete_user_data(session=session, channel="zalo", external_id="z9")
    assert store.open_tickets(sessions=sessions) == []
    assert store.get_report(sessions=sessions, report_id=report.id) is None


def test_handled_items_are_purged_after_the_retention_period(sessions: sessionmaker[Session]) -> None:
    old = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    t = store.create_ticket(sessions=sessions, channel="telegram", external_id="1", chat_id="1", question="q", now=old)
    store.claim_ticket(sessions=sessions, ticket_id=t.id, staff_id="s", staff_name=None, now=old)
    store.answer_ticket(sessions=sessions, ticket_id=t.id, staff_id="s", answer="a", now=old)
    r = store.create_report(sessions=sessions, channel="telegram", external_id="1", chat_id="1", topic="khac",
                            description="d", now=old)
    store.close_report(sessions=sessions, report_id=r.id, now=old)
    still_open = store.create_report(sessions=sessions, channel="telegram", external_id="1", chat_id="1",
                                     topic="khac", description="d2", now=old)
    assert store.purge_handled(sessions=sessions, before=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)) == 2
    assert store.get_report(sessions=sessions, report_id=still_open.id) is not None  # open reports stay


def test_office_hours() -> None:
    hours = OfficeHours.parse("mon-fri 07:30-11:30,13:30-17:00; t7 07:30-11:30")
    tz = dt.timezone(dt.timedelta(hours=7))
    assert hours.is_open(dt.datetime(2026, 12, 3, 8, 0, tzinfo=tz))  # Thursday morning
    assert not hours.is_open(dt.datetime(2026, 12, 3, 12, 0, tzinfo=tz))  # lunch
    assert hours.next_open(dt.datetime(2026, 12, 3, 12, 0, tzinfo=tz)) == dt.datetime(2026, 12, 3, 13, 30, tzinfo=tz)
    assert hours.next_open(dt.datetime(2026, 12, 5, 12, 0, tzinfo=tz)) == dt.datetime(2026, 12, 7, 7, 30, tzinfo=tz)
    assert OfficeHours.parse("").always and OfficeHours.parse("").is_open(dt.datetime(2026, 12, 6, 3, 0))
    assert OfficeHours.parse("sat-mon 08:00-09:00").is_open(dt.datetime(2026, 12, 6, 8, 30))  # Sunday, wrapping
    for bad in ("mon 7h-8h", "funday 08:00-09:00", "mon 09:00-08:00", "mon", "mon 25:00-26:00"):
        with pytest.raises(OfficeHoursError):
            OfficeHours.parse(bad)


def test_the_export_lists_reports_as_csv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    sessions = make_sessionmaker(engine)
    store.create_report(sessions=sessions, channel="zalo", external_id="z1", chat_id="z1", topic="moi-truong",
                        description="Rác, thải \"đổ\" trộm\nở ngõ 5", location="ngõ 5", photo="https://x/y.jpg")
    engine.dispose()
    out = subprocess.run([sys.executable, "-m", "bot", "report", "phananh", "--since", "30d", "--csv"],
                         env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0][0] == "ma" and len(rows) == 2
    assert rows[1][0].startswith("PA-") and rows[1][3] == "Rác, thải \"đổ\" trộm\nở ngõ 5" and rows[1][6] == "co"
