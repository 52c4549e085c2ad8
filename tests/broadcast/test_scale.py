"""Broadcasts at scale: the claim walks only open deliveries (partial index), progress is counted per
broadcast, a delivered message costs at most two round trips, and old delivery rows are purged."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import retention
from bot.broadcast import engine as delivery_engine
from bot.broadcast import service
from bot.broadcast.models import SENT, Broadcast, Delivery
from bot.broadcast.ratelimit import RateLimiter
from bot.messages import Reply, SentMessage
from bot.settings import Settings
from bot.storage.db import run_single
from bot.storage.flows import FlowStore
from bot.storage.models import ConversationFlow
from tests.broadcast.conftest import RoundTrips, add_subscribers, seed_history


def explain_claim(sessions: sessionmaker[Session]) -> str:
    """The database's plan for the claim statement, as one string."""
    bind = sessions.kw["bind"]
    statement = delivery_engine._claim_statement(bind.dialect.name)
    params = {"b_now": dt.datetime.now(dt.UTC), "b_channel": "telegram", "b_after": 0, "b_limit": 20, "b_token": "t",
              "b_until": dt.datetime.now(dt.UTC)}  # fmt: skip
    compiled = statement.compile(bind)
    prefix = "EXPLAIN QUERY PLAN " if bind.dialect.name == "sqlite" else "EXPLAIN "
    with bind.connect() as connection:
        if bind.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE deliveries")
        values = compiled.construct_params(params)
        if compiled.positional:  # SQLite: qmark parameters in statement order, datetimes as stored text
            bound = tuple(
                str(v) if isinstance(v, dt.datetime) else v for v in (values[k] for k in compiled.positiontup or ())
            )
            rows = connection.exec_driver_sql(prefix + str(compiled), bound).all()
        else:
            rows = connection.exec_driver_sql(prefix + str(compiled), values).all()
        return "\n".join(str(r) for r in rows)


def test_claim_walks_only_open_deliveries(sessions: sessionmaker[Session]) -> None:
    add_subscribers(sessions, 200)
    seed_history(sessions, 20_000)  # 100 old notices to every subscriber
    live = service.create_broadcast(sessions=sessions, text="Thông báo mới")
    assert live is not None
    plan = explain_claim(sessions)
    # SQLite walks the partial index; PostgreSQL may instead look up the open rows of the sending broadcasts
    # by (broadcast_id, status). Either way the sent history is never scanned.
    assert "ix_deliveries_open" in plan or "ix_deliveries_broadcast_id_status" in plan, plan
    assert "Seq Scan on deliveries" not in plan and "SCAN deliveries" not in plan, plan
    claimed = delivery_engine.claim_batch(sessions=sessions, channel="telegram", token="w", limit=50, lease_seconds=60)
    assert len(claimed) == 50 and {c.broadcast_id for c in claimed} == {live}
    status = service.broadcast_status(sessions=sessions, broadcast_id=live)
    assert status is not None and status.total == 200 and status.remaining == 200 and status.sent == 0


class CountingSender:
    """An in-process channel that accepts every message (the database side is under test here)."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, chat_id: str, replies: list[Reply]) -> list[SentMessage]:
        self.sent.append(chat_id)
        return [SentMessage(message_id=str(len(self.sent)))]


async def test_a_delivered_message_costs_at_most_two_round_trips(sessions: sessionmaker[Session]) -> None:
    add_subscribers(sessions, 120)
    live = service.create_broadcast(sessions=sessions, text="Lịch tiêm chủng")
    assert live is not None
    sender = CountingSender()
    worker = delivery_engine.DeliveryWorker(
        sessions=sessions,
        sender=sender,
        limiter=RateLimiter(0),
        render=lambda body: Reply(text=body),
        config=delivery_engine.EngineConfig(batch_size=10),
    )
    trips = RoundTrips(sessions.kw["bind"])
    try:
        while await worker.drain_once():
            pass
    finally:
        trips.close()
    assert len(sender.sent) == 120 == len(set(sender.sent))
    assert trips.count / len(sender.sent) <= 2.0, trips.count
    status = service.broadcast_status(sessions=sessions, broadcast_id=live)
    assert status is not None and status.status == "done" and status.sent == 120


def test_autocommit_statements_leave_transactions_intact(sqlite_url: str) -> None:
    from bot.storage.db import create_engine_for, make_sessionmaker
    from bot.storage.migrate import upgrade

    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url, pool_size=1, max_overflow=0)  # the same connection every time
    sessions = make_sessionmaker(engine)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: seen.append(statement))
    run_single(sessions, update(Delivery).where(Delivery.id == -1).values(status=SENT))
    assert not any(s.startswith("BEGIN") for s in seen)
    with sessions.begin() as session:
        session.execute(select(func.count()).select_from(Delivery))
    assert seen[-2] == "BEGIN IMMEDIATE"
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
    engine.dispose()


def test_old_delivery_rows_are_purged_open_ones_kept(sessions: sessionmaker[Session]) -> None:
    add_subscribers(sessions, 30)
    seed_history(sessions, 60)  # two notices that ended 400 days ago
    recent = service.create_broadcast(sessions=sessions, text="Gần đây")
    assert recent is not None
    with sessions.begin() as session:  # a recent notice, done yesterday
        session.execute(update(Delivery).where(Delivery.broadcast_id == recent).values(status=SENT))
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == recent)
            .values(status="done", finished_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
    running = service.create_broadcast(sessions=sessions, text="Đang gửi")
    assert running is not None
    with sessions.begin() as session:  # an open broadcast that started long ago keeps every row
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == running)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=500))
        )
    flows = FlowStore(sessions, lambda: dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    asyncio.run(flows.start(("telegram", "1"), "notice_draft", "{}", ttl=60))  # expired 59 minutes ago

    settings = Settings(_env_file=None, delivery_retention_days=90, question_log_retention_days=0)  # type: ignore[call-arg]
    assert retention.purge_expired(sessionmaker=sessions, settings=settings) == 60
    with sessions.begin() as session:
        left = dict(session.execute(select(Delivery.broadcast_id, func.count()).group_by(Delivery.broadcast_id)).all())
        assert left == {recent: 30, running: 30}
        assert session.scalar(select(func.count()).select_from(ConversationFlow)) == 0
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 4  # the notices themselves stay
    off = Settings(_env_file=None, delivery_retention_days=0, question_log_retention_days=0)  # type: ignore[call-arg]
    assert retention.purge_expired(sessionmaker=sessions, settings=off) == 0


def test_claims_continue_after_the_cursor_and_a_full_pass_finds_the_rest(sessions: sessionmaker[Session]) -> None:
    add_subscribers(sessions, 40)
    live = service.create_broadcast(sessions=sessions, text="Thông báo")
    assert live is not None
    first = delivery_engine.claim_batch(sessions=sessions, channel="telegram", token="a", limit=10, lease_seconds=60)
    cursor = max(c.id for c in first)
    later = delivery_engine.claim_batch(
        sessions=sessions, channel="telegram", token="a", limit=10, lease_seconds=60, after=cursor + 10
    )
    assert later and min(c.id for c in later) > cursor + 10
    rest = delivery_engine.claim_batch(sessions=sessions, channel="telegram", token="a", limit=40, lease_seconds=60)
    assert len(rest) == 40 - len(first) - len(later)  # the full pass takes the ten the cursor stepped over
