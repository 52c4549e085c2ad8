"""Prometheus metrics of the bot, served as text on ``GET /metrics`` by the HTTP server.

Every metric lives in the one module-level :data:`REGISTRY` (not the client library's global default), so
several apps in one process (tests, benchmarks) share the same counters without registering twice. Counters
are process-global: readers compare values before and after, never assume a fresh start.

The helpers below are what the rest of the code calls; they keep label names and values in one place.
"""

from __future__ import annotations

import datetime as dt

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "CONTENT_TYPE_LATEST",
    "REGISTRY",
    "delivery",
    "knowledge_loaded",
    "question",
    "rate_limited",
    "render",
    "reply_failed",
    "update_received",
]

REGISTRY = CollectorRegistry()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
DECISIONS = ("answer", "suggest", "decline")
DELIVERY_STATUSES = frozenset({"sent", "failed", "blocked", "skipped"})  # the final ones; "pending" is a retry

UPDATES_RECEIVED = Counter(
    "troly_updates_received",
    "Incoming messages and button presses that reached the shared handlers, by channel.",
    ["channel"],
    registry=REGISTRY,
)
QUESTIONS = Counter(
    "troly_questions",
    "Free-text questions searched in the knowledge base, by the engine's decision.",
    ["decision"],
    registry=REGISTRY,
)
ANSWER_LATENCY = Histogram(
    "troly_answer_latency_seconds",
    "Time to search the knowledge base for one free-text question.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
KNOWLEDGE_ENTRIES = Gauge(
    "troly_knowledge_entries",
    "Entries in the live knowledge base.",
    registry=REGISTRY,
)
KNOWLEDGE_LOADED = Gauge(
    "troly_knowledge_loaded_timestamp_seconds",
    "When the live knowledge base was loaded (Unix time).",
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "troly_deliveries",
    "Announcement deliveries settled by the broadcast engine, by channel and final status.",
    ["channel", "status"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "troly_rate_limited",
    "Rate-limit answers (HTTP 429 or the channel's equivalent) received from a messaging API, by channel.",
    ["channel"],
    registry=REGISTRY,
)
REPLIES_FAILED = Counter(
    "troly_replies_failed",
    "Replies to people that were finally not delivered (after retries), by channel and kind: "
    "blocked (the person blocked the bot), refused (the channel refused the message), gave_up (retries ran out).",
    ["channel", "kind"],
    registry=REGISTRY,
)

for _decision in DECISIONS:  # every decision shows up (at 0) from the start
    QUESTIONS.labels(decision=_decision)


def update_received(channel: str) -> None:
    """Count one incoming message or button press on ``channel``."""
    UPDATES_RECEIVED.labels(channel=channel).inc()


def question(decision: str, seconds: float) -> None:
    """Count one searched question with its ``decision`` and record how long the search took."""
    QUESTIONS.labels(decision=decision).inc()
    ANSWER_LATENCY.observe(seconds)


def knowledge_loaded(entries: int, loaded_at: dt.datetime) -> None:
    """Publish the size and load time of the knowledge base that just went live."""
    KNOWLEDGE_ENTRIES.set(entries)
    KNOWLEDGE_LOADED.set(loaded_at.timestamp())


def delivery(channel: str, status: str) -> None:
    """Count one announcement delivery settled with ``status``; only final statuses count (sent, failed, ...)."""
    if status in DELIVERY_STATUSES:
        DELIVERIES.labels(channel=channel, status=status).inc()


def rate_limited(channel: str) -> None:
    """Count one rate-limit answer from ``channel``'s API."""
    RATE_LIMITED.labels(channel=channel).inc()


def reply_failed(channel: str, kind: str) -> None:
    """Count one reply that was finally not delivered."""
    REPLIES_FAILED.labels(channel=channel, kind=kind).inc()


def render() -> bytes:
    """The registry in the Prometheus text exposition format."""
    return generate_latest(REGISTRY)
