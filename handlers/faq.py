"""Free-text questions: search the knowledge base, answer, suggest or decline, and log the question."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

from bot import metrics
from bot.kb.models import Entry
from bot.kb.result import Decision, SearchResult
from bot.kb.sources import is_official_source
from bot.messages import Button, IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import button, column, invalid_button, text

TOPIC_HINT_MIN_SCORE = 0.3  # below this, a declined question's candidates are noise, not "close topics"


def answer_text(entry: Entry, *, has_related: bool) -> str:
    """The question it answers (so a mismatch shows at once), the entry's answer, its source link when it has
    one (as the official basis, or as further reading when the page is not an official one), and the feedback
    question."""
    body = texts.ANSWER_HEADING.format(question=entry.question.strip()) + "\n\n" + entry.answer.strip()
    if entry.source:
        label = urlparse(entry.source).netloc or entry.source
        # A newspaper or other unofficial page is offered as further reading, never as the official basis.
        line = texts.SOURCE if is_official_source(entry.source) else texts.SOURCE_UNOFFICIAL
        body += "\n\n" + line.format(label=label, url=entry.source)
    body += "\n\n" + texts.FEEDBACK_QUESTION
    return body + (" " + texts.RELATED_HINT if has_related else "")


def answer_replies(entry: Entry, services: Services, *, vote_prefix: str, back: Button | None = None) -> list[Reply]:
    """The answer with related questions and 👍/👎 buttons (``<vote_prefix>:1`` / ``:0``)."""
    related = services.knowledge.related(entry.id, limit=3)
    votes = [
        button(texts.BUTTON_HELPFUL, f"{vote_prefix}:1"),
        button(texts.BUTTON_NOT_HELPFUL, f"{vote_prefix}:0"),
    ]
    related_buttons = column(button(r.question, f"a:{r.id}") for r in related)
    return text(answer_text(entry, has_related=bool(related)), votes, *related_buttons, [back])


async def answer_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``a:<entry-id>``: show that entry's answer."""
    entry_id = (msg.button_data or "").partition(":")[2]
    entry = services.knowledge.kb.entry(entry_id)
    if entry is None:
        return invalid_button()
    back = button(texts.BUTTON_BACK, f"m:cat:{entry.category}")
    return answer_replies(entry, services, vote_prefix=f"fb:e:{entry.id}", back=back)


async def ask(msg: IncomingMessage, services: Services, question: str) -> list[Reply]:
    """Answer a free-text question and log it with its decision, confidence and latency."""
    started = time.perf_counter()
    result: SearchResult = await asyncio.to_thread(services.knowledge.search, question)
    elapsed = time.perf_counter() - started
    metrics.question(result.decision.value, elapsed)
    latency_ms = round(elapsed * 1000)
    best = result.best
    log_id = await services.records.log_question(
        channel=msg.channel,
        external_id=msg.user_id,
        display_name=msg.display_name,
        raw_text=question,
        normalized_text=result.normalized,
        decision=result.decision.value,
        matched_id=best.entry.id if best else None,
        confidence=result.confidence,
        latency_ms=latency_ms,
    )
    if result.decision is Decision.ANSWER and best is not None:
        # Without a log row (the database refused the write) the vote is recorded against the entry instead.
        vote_prefix = f"fb:e:{best.entry.id}" if log_id is None else f"fb:{log_id}"
        return answer_replies(best.entry, services, vote_prefix=vote_prefix)
    if result.decision is Decision.SUGGEST and result.suggestions:
        choices = column(button(c.entry.question, f"a:{c.entry.id}") for c in result.suggestions)
        return text(texts.SUGGEST, *choices, [button(texts.BUTTON_NONE_OF_THESE, f"x:{log_id}")])
    return decline(result, services)


async def none_of_these(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``x:<log-id>``: none of the suggestions fits. The question is kept for staff (as a 👎 on the
    suggestion, which ``report unanswered`` lists as "not taken"); the citizen gets the ward's contact and, when a
    staff group is set, the offer to pass the question to staff."""
    target = (msg.button_data or "").partition(":")[2]
    if not target.isdigit():
        return invalid_button()
    recorded = await services.records.record_feedback(
        channel=msg.channel, external_id=msg.user_id, helpful=False, question_log_id=int(target)
    )
    if recorded is None:
        return invalid_button()
    message = texts.NONE_OF_THESE.format(contact=services.knowledge.kb.ward.contact_line())
    staff = [button(texts.BUTTON_ASK_STAFF, "hc:ask")] if services.handoff.available else []
    return text(message, staff, [button(texts.BUTTON_TOPICS, "m:root")])


def decline(result: SearchResult, services: Services) -> list[Reply]:
    """Say there is no answer yet, give the ward's contact and the closest topics, if any."""
    kb = services.knowledge.kb
    message = texts.DECLINE.format(contact=kb.ward.contact_line())
    close = [c for c in result.suggestions if c.score >= TOPIC_HINT_MIN_SCORE]
    slugs = list(dict.fromkeys(c.entry.category for c in close))
    categories = [c for c in (kb.category(s) for s in slugs) if c is not None]
    staff = [button(texts.BUTTON_ASK_STAFF, "hc:ask")] if services.handoff.available else []
    if not categories:
        return text(message, staff, [button(texts.BUTTON_TOPICS, "m:root")])
    message += "\n\n" + texts.DECLINE_TOPICS
    return text(message, *column(button(c.title, f"m:cat:{c.slug}") for c in categories), staff)
