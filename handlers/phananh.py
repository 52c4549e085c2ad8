"""Citizens' reports (phản ánh, kiến nghị): a short guided flow, a tracking code at once, staff handle it in chat.

``/phananh``: topic → description → location (optional) → one photo (optional) → contact (optional) → confirm →
code ``PA-<year>-<n>``. The staff group gets the report with "Tôi xử lý" and "Đã xong"; replying to it answers the
citizen; each change reaches the citizen on the channel they used. ``/tracuu <code>`` shows the status to its
author only. The flow lives in the database, so it survives restarts and works across instances.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from bot.handoff.topics import report_topics
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.broadcast_staff import is_staff
from handlers.handoff import citizen_label, staff_name
from handlers.ui import button, column, text

FLOW = "phananh"
FLOW_TTL = 30 * 60.0
MIN_DESCRIPTION = 10
MAX_FIELD = 1500
CODE = re.compile(r"\bPA-\d{4}-\d{1,6}\b", re.IGNORECASE)
STEPS = ("topic", "description", "location", "photo", "contact", "confirm")


def _state(value: str | None) -> dict[str, Any] | None:
    try:
        state = json.loads(value) if value else None
    except ValueError:
        return None
    return state if isinstance(state, dict) and state.get("step") in STEPS else None


async def _save(msg: IncomingMessage, services: Services, state: dict[str, Any]) -> None:
    await services.flows.start((msg.channel, msg.user_id), FLOW, json.dumps(state, ensure_ascii=False), ttl=FLOW_TTL)


def _ask(step: str, state: dict[str, Any], services: Services) -> list[Reply]:
    """The question for ``step``."""
    skip = [button(texts.BUTTON_SKIP, "pa:skip")]
    if step == "description":
        return text(texts.REPORT_ASK_DESCRIPTION.format(topic=_topic_title(state.get("topic"), services)))
    if step == "location":
        return text(texts.REPORT_ASK_LOCATION, skip)
    if step == "photo":
        return text(texts.REPORT_ASK_PHOTO, skip)
    if step == "contact":
        return text(texts.REPORT_ASK_CONTACT, skip)
    none = texts.REPORT_NONE
    summary = texts.REPORT_CONFIRM.format(
        topic=_topic_title(state.get("topic"), services), description=state.get("description") or none,
        location=state.get("location") or none, contact=state.get("contact") or none,
        photo=texts.REPORT_HAS_PHOTO if state.get("photo") else none,
    )
    return text(summary, [button(texts.BUTTON_SEND_REPORT, "pa:ok"), button(texts.BUTTON_CANCEL, "pa:no")])


def _topic_title(slug: object, services: Services) -> str:
    for choice in report_topics(services.knowledge.config):
        if choice.id == slug:
            return choice.title
    return str(slug or "")


async def start(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``/phananh``: choose the topic."""
    if not services.handoff.available:
        return text(texts.REPORT_UNAVAILABLE.format(contact=services.knowledge.kb.ward.contact_line()))
    await _save(msg, services, {"step": "topic"})
    topics = report_topics(services.knowledge.config)
    return text(texts.REPORT_CHOOSE_TOPIC, *column(button(t.title, f"pa:t:{t.id}") for t in topics),
                [button(texts.BUTTON_CANCEL, "pa:no")])


async def on_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``pa:…`` buttons: the citizen's steps (topic, skip, send, cancel) and staff's (assign, close)."""
    parts = (msg.button_data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action in ("as", "cl"):
        return await _staff_button(msg, services, action, parts[2] if len(parts) > 2 else "")
    key = (msg.channel, msg.user_id)
    if action == "no":
        await services.flows.finish(key, FLOW)
        return text(texts.REPORT_CANCELLED)
    state = _state(await services.flows.get(key, FLOW))
    if state is None:
        return text(texts.REPORT_EXPIRED)
    if action == "t" and state["step"] == "topic" and len(parts) == 3:
        if parts[2] not in {t.id for t in report_topics(services.knowledge.config)}:
            return text(texts.INVALID_BUTTON)
        state.update(topic=parts[2], step="description")
    elif action == "skip" and state["step"] in ("location", "photo", "contact"):
        state["step"] = STEPS[STEPS.index(state["step"]) + 1]
    elif action == "ok" and state["step"] == "confirm":
        if await services.flows.take(key, FLOW) is None:
            return text(texts.REPORT_EXPIRED)  # pressed twice, or on two instances: filed once
        return await _file(msg, services, state)
    else:
        return _ask(state["step"], state, services)
    await _save(msg, services, state)
    return _ask(state["step"], state, services)


async def typed(msg: IncomingMessage, services: Services, value: str, state_value: str) -> list[Reply] | None:
    """Text or a photo while a report is being written; None when the flow does not take it."""
    state = _state(state_value)
    if state is None:
        return None
    step = state["step"]
    if step == "photo" and msg.photo:
        state.update(photo=msg.photo, step="contact")
    elif step in ("description", "location", "contact") and value:
        if step == "description" and len(value.strip()) < MIN_DESCRIPTION:
            return text(texts.REPORT_DESCRIPTION_SHORT)
        state[step] = value.strip()[:MAX_FIELD]
        state["step"] = STEPS[STEPS.index(step) + 1]
    else:
        return _ask(step, state, services)
    await _save(msg, services, state)
    return _ask(state["step"], state, services)


async def _file(msg: IncomingMessage, services: Services, state: dict[str, Any]) -> list[Reply]:
    report = await services.handoff.create_report(
        msg.channel, msg.user_id, msg.chat_id, topic=str(state.get("topic") or "khac"),
        description=str(state.get("description") or ""), location=state.get("location"),
        photo=state.get("photo"), contact=state.get("contact"),
    )
    none = texts.REPORT_NONE
    body = texts.REPORT_STAFF_NEW.format(
        code=report.code, who=citizen_label(msg.channel, msg.user_id),
        topic=_topic_title(report.topic, services), description=report.description,
        location=report.location or none, contact=report.contact or none,
        photo=texts.REPORT_STAFF_PHOTO if report.photo else "",
    )
    [card] = text(body, [button(texts.BUTTON_ASSIGN, f"pa:as:{report.id}"),
                         button(texts.BUTTON_CLOSE, f"pa:cl:{report.id}")])
    message_id = await services.handoff.to_staff([dataclasses.replace(card, photo=report.photo)])
    if message_id is not None:
        await services.handoff.set_report_message(report.id, message_id)
    return text(texts.REPORT_RECEIVED.format(code=report.code))


async def _staff_button(msg: IncomingMessage, services: Services, action: str, raw_id: str) -> list[Reply]:
    if not await is_staff(msg, services):
        return text(texts.HANDOFF_ONLY_STAFF)
    if not raw_id.isdigit() or len(raw_id) > 12:
        return text(texts.HANDOFF_NOT_FOUND)
    if action == "as":
        won, report = await services.handoff.assign(int(raw_id), msg.user_id, staff_name(msg))
        if report is None:
            return text(texts.HANDOFF_NOT_FOUND)
        if not won:
            return text(texts.REPORT_ASSIGNED_OTHER.format(code=report.code, name=report.assigned_name or "?"))
        note = await _tell_citizen(services, report.channel, report.chat_id,
                                   texts.REPORT_ASSIGNED_CITIZEN.format(code=report.code))
        return text(texts.REPORT_ASSIGNED_STAFF.format(name=staff_name(msg), code=report.code) + note)
    closed = await services.handoff.close(int(raw_id))
    if closed is None:
        report = await services.handoff.report(int(raw_id))
        if report is None:
            return text(texts.HANDOFF_NOT_FOUND)
        return text(texts.REPORT_ALREADY_CLOSED.format(code=report.code))
    note = await _tell_citizen(services, closed.channel, closed.chat_id,
                               texts.REPORT_CLOSED_CITIZEN.format(code=closed.code))
    return text(texts.REPORT_CLOSED_STAFF.format(code=closed.code) + note)


async def answer_report(msg: IncomingMessage, services: Services, report_id: int, answer: str) -> list[Reply]:
    """A staff member replied to a report's message: the citizen gets the answer."""
    report = await services.handoff.reply_report(report_id, msg.user_id, staff_name(msg), answer)
    if report is None:
        existing = await services.handoff.report(report_id)
        if existing is None:
            return text(texts.HANDOFF_NOT_FOUND)
        return text(texts.REPORT_REPLY_REFUSED.format(code=existing.code))
    note = await _tell_citizen(services, report.channel, report.chat_id,
                               texts.REPORT_REPLY_CITIZEN.format(code=report.code, reply=answer))
    return text(texts.REPORT_REPLY_DELIVERED.format(code=report.code) if not note else note.strip())


async def _tell_citizen(services: Services, channel: str, chat_id: str, message: str) -> str:
    """Deliver ``message`` to the citizen; "" when delivered, else the staff-facing note why not."""
    failure = await services.handoff.to_citizen(channel, chat_id, text(message))
    return "" if failure is None else "\n" + texts.REPORT_CITIZEN_NOT_TOLD.format(reason=failure)


async def track(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``/tracuu <code>``: the status of one of the asker's own reports."""
    found = CODE.search(msg.text or "")
    if found is None:
        return text(texts.TRACK_USAGE)
    code = found.group(0).upper()
    report = await services.handoff.report_for_author(code, msg.channel, msg.user_id)
    if report is None:
        return text(texts.TRACK_NOT_FOUND.format(code=code))
    created = report.created_at.astimezone(services.handoff.timezone).strftime("%H:%M %d/%m/%Y")
    return text(texts.TRACK_STATUS.format(
        code=report.code, topic=_topic_title(report.topic, services), created=created,
        status=texts.REPORT_STATUS_NAMES.get(report.status, report.status),
        reply=texts.TRACK_REPLY.format(reply=report.reply) if report.reply else "",
    ))
