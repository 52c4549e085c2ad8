"""Broadcast rows on SQLite and PostgreSQL: migration, recipients, idempotent release, cancel, cascade."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, inspect, select

from bot.broadcast import service
from bot.broadcast.engine import claim_batch, settle
from bot.broadcast.models import Broadcast, Delivery
from bot.storage import repo
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.migrate import downgrade, upgrade
from tests.broadcast.conftest import add_subscribers

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_migration_upgrade_and_downgrade(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    try:
        assert {"broadcasts", "deliveries", "staff_members"} <= set(inspect(engine).get_table_names())
        downgrade(db_url, "0001_initial")
        tables = set(inspect(engine).get_table_names())
        assert "deliveries" not in tables and "broadcasts" not in tables and "users" in tables
        upgrade(db_url)
        assert "deliveries" in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_recipients_by_topic_and_area_and_release_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        add_subscribers(sessions, 3, first_id=1, topics="")  # everything, whole ward
        add_subscribers(sessions, 2, first_id=10, topics="lua-dao")
        add_subscribers(sessions, 2, first_id=20, topics="chung", area="to-1")
        add_subscribers(sessions, 1, first_id=30, topics="chung", area="to-2")
        add_subscribers(sessions, 1, first_id=40, channel="terminal")  # no broadcast channel
        count = service.count_recipients
        assert count(sessions=sessions, topic=None, area=None) == 8
        assert count(sessions=sessions, topic="lua-dao", area=None) == 5
        assert count(sessions=sessions, topic="chung", area="to-1") == 5
        assert count(sessions=sessions, topic=None, area="to-2") == 6
        when = NOW + dt.timedelta(hours=1)
        bid = service.create_broadcast(sessions=sessions, text="x", topic="chung", scheduled_at=when, now=NOW)
        assert bid is not None
        assert service.release_broadcast(sessions=sessions, broadcast_id=bid, now=when)
        assert not service.release_broadcast(sessions=sessions, broadcast_id=bid, now=when)  # fired twice
        status = service.broadcast_status(sessions=sessions, broadcast_id=bid)
        assert status is not None and status.status == "sending" and status.total == 6 and status.remaining == 6
        key = "planned:demo:2026-03-01T08:00Z"
        first = service.create_broadcast(sessions=sessions, text="y", key=key, now=NOW)
        assert first is not None
        assert service.create_broadcast(sessions=sessions, text="y", key=key, now=NOW) is None
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Delivery)) == 14
    finally:
        engine.dispose()


def test_cancel_drops_pending_and_claims_are_exclusive(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        add_subscribers(sessions, 5, first_id=1)
        bid = service.create_broadcast(sessions=sessions, text="x", now=NOW)
        assert bid is not None
        first = claim_batch(sessions=sessions, channel="telegram", token="a", limit=2, lease_seconds=60)
        second = claim_batch(sessions=sessions, channel="telegram", token="b", limit=10, lease_seconds=60)
        assert len(first) == 2 and len(second) == 3
        assert not {c.id for c in first} & {c.id for c in second}
        assert claim_batch(sessions=sessions, channel="telegram", token="c", limit=10, lease_seconds=60) == []
        assert settle(sessions=sessions, delivery_id=first[0].id, token="a", status="sent")
        assert not settle(sessions=sessions, delivery_id=first[1].id, token="wrong", status="sent")
        expired = claim_batch(
            sessions=sessions, channel="telegram", token="d", limit=10, lease_seconds=60,
            now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120),
        )  # fmt: skip
        assert len(expired) == 4  # a dead worker's claims come back after the lease
        assert service.cancel_broadcast(sessions=sessions, broadcast_id=bid)
        assert not service.cancel_broadcast(sessions=sessions, broadcast_id=bid)
        status = service.broadcast_status(sessions=sessions, broadcast_id=bid)
        assert status is not None and status.status == "cancelled" and status.sent == 1
    finally:
        engine.dispose()


def test_deleting_a_user_removes_their_deliveries(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine_for(db_url)
    sessions = make_sessionmaker(engine)
    try:
        add_subscribers(sessions, 2, first_id=1)
        assert service.create_broadcast(sessions=sessions, text="x", now=NOW) is not None
        with sessions.begin() as session:
            assert repo.delete_user_data(session=session, channel="telegram", external_id="1")
        with sessions() as session:
            assert [d.chat_id for d in session.scalars(select(Delivery))] == ["2"]
            assert session.scalar(select(func.count()).select_from(Broadcast)) == 1
    finally:
        engine.dispose()
