"""Staff send a knowledge file to the bot: it is checked in place, applied on a confirm, and ``/hoantac`` undoes it.

A ``.yaml`` document from staff is read through its channel (at most :data:`~bot.kb.upload.MAX_UPLOAD_BYTES`),
checked as it would be in the knowledge folder by ``kb check``'s own code, and answered with the problems
(``file:line``, Vietnamese) or with what would change and two buttons. The upload waits as a flow of the staff
member who sent it; the confirm takes that flow atomically, so a double tap applies once. Applying keeps the
previous version, writes the file atomically and reloads the knowledge base as the watcher does. Every apply
and undo is journaled with who and when, and posted to the staff group when it was done elsewhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.kb.store import ReloadOutcome
from bot.kb.upload import (
    FILE_NAME,
    MAX_UPLOAD_BYTES,
    Actor,
    Change,
    Conflict,
    Refusal,
    UploadConflict,
    apply_upload,
    check_upload,
    discard,
    last_undoable,
    screen,
    stage,
    undo_upload,
)
from bot.messages import DocumentTooLarge, DocumentUnavailable, IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.payloads import pack, unpack
from handlers.staff import MAX_PROBLEMS_SHOWN, problem_lines
from handlers.ui import button, text

FLOW = "kb_upload"
UNDO_FLOW = "kb_undo"
UPLOAD_SECONDS = 1800.0
UNDO_SECONDS = 300.0
MAX_WARNINGS_SHOWN = 5
MAX_IDS_SHOWN = 10

_REFUSALS = {
    Refusal.NAME: texts.UPLOAD_BAD_NAME,
    Refusal.BINARY: texts.UPLOAD_BINARY,
    Refusal.NOT_UTF8: texts.UPLOAD_NOT_UTF8,
    Refusal.EMPTY: texts.UPLOAD_EMPTY,
}


def _kb(size: int) -> int:
    return (size + 1023) // 1024


def _local(when: dt.datetime, services: Services) -> str:
    return when.astimezone(ZoneInfo(services.settings.bot_timezone)).strftime("%H:%M ngày %d/%m/%Y")


def _actor(msg: IncomingMessage) -> Actor:
    return Actor(msg.channel, msg.user_id, msg.display_name)


async def receive(msg: IncomingMessage, services: Services) -> list[Reply]:
    """A document from staff: refuse what is not a knowledge file, else check it and offer to apply it."""
    document = msg.document
    if document is None:
        return text(texts.ONLY_TEXT)
    name = document.name.strip()
    if not name.lower().endswith((".yaml", ".yml")):
        return text(texts.UPLOAD_NOT_YAML.format(name=name or "?"))
    if not FILE_NAME.match(name):
        return text(texts.UPLOAD_BAD_NAME.format(name=name))
    try:
        data = await document.read(MAX_UPLOAD_BYTES)
    except DocumentTooLarge as err:
        return text(texts.UPLOAD_TOO_LARGE.format(name=name, size=_kb(err.size), limit=_kb(MAX_UPLOAD_BYTES)))
    except DocumentUnavailable:
        return text(texts.UPLOAD_NOT_HERE if document.fetch is None else texts.UPLOAD_UNAVAILABLE)
    refusal = screen(name, data)
    if refusal is not None:
        return text(_REFUSALS[refusal].format(name=name))
    folder = services.knowledge.path
    if not folder.is_dir():
        return text(texts.UPLOAD_NO_FOLDER)
    today = services.clock().astimezone(ZoneInfo(services.settings.bot_timezone)).date()
    checked = await asyncio.to_thread(
        check_upload, folder, name, data, live=services.knowledge.index,
        review_days=services.settings.knowledge_review_days, today=today,
    )  # fmt: skip
    if not checked.ok or checked.change is None:
        problems = problem_lines(checked.errors, MAX_PROBLEMS_SHOWN, texts.UPLOAD_MORE_ERRORS)
        return text(texts.UPLOAD_INVALID.format(name=name, count=len(checked.errors), problems=problems))
    if checked.change.identical:
        return text(texts.UPLOAD_IDENTICAL.format(name=name))
    nonce = secrets.token_hex(4)
    await asyncio.to_thread(stage, folder, nonce, data)
    state = json.dumps({"f": name, "d": checked.digest, "b": checked.base})
    await services.flows.start((msg.channel, msg.user_id), FLOW, f"{nonce} {state}", ttl=UPLOAD_SECONDS)
    warnings = ""
    if checked.warnings:
        lines = problem_lines(checked.warnings, MAX_WARNINGS_SHOWN, texts.UPLOAD_MORE_WARNINGS)
        warnings = texts.UPLOAD_WARNINGS.format(count=len(checked.warnings), problems=lines)
    return text(
        texts.UPLOAD_READY.format(name=name, change=describe(checked.change), warnings=warnings),
        [
            button(texts.BUTTON_UPLOAD_APPLY, pack("kb", "ok", nonce)),
            button(texts.BUTTON_UPLOAD_CANCEL, pack("kb", "no", nonce)),
        ],
    )


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    if len(ids) > MAX_IDS_SHOWN:
        return texts.UPLOAD_MORE_IDS.format(ids=shown, count=len(ids) - MAX_IDS_SHOWN)
    return shown


def describe(change: Change) -> str:
    """What an upload changes, in a few lines for staff: entries added, changed and removed by id."""
    if change.config:
        return texts.UPLOAD_NEW_CONFIG if change.new_file else texts.UPLOAD_CONFIG_CHANGED
    if change.new_file:
        return texts.UPLOAD_NEW_FILE.format(count=change.entries)
    lines = [texts.UPLOAD_CHANGES.format(count=change.entries)]
    for template, ids in (
        (texts.UPLOAD_ADDED, change.added),
        (texts.UPLOAD_CHANGED, change.changed),
        (texts.UPLOAD_REMOVED, change.removed),
    ):
        if ids:
            lines.append(template.format(count=len(ids), ids=_ids(ids)))
    if len(lines) == 1:
        lines.append(texts.UPLOAD_OTHER_CHANGES)
    return "\n".join(lines)


async def on_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """``kb:ok|no:<nonce>`` answers an upload's summary; ``kb:uy|un:<nonce>`` answers /hoantac's question."""
    payload = unpack(msg.button_data)
    if payload is None or len(payload.fields) != 2:
        return text(texts.UPLOAD_EXPIRED)
    action, nonce = payload.fields
    if action in ("ok", "no"):
        return await _answer_upload(msg, services, nonce, apply=action == "ok")
    return await _answer_undo(msg, services, nonce, undo=action == "uy")


async def _answer_upload(msg: IncomingMessage, services: Services, nonce: str, *, apply: bool) -> list[Reply]:
    key = (msg.channel, msg.user_id)
    value = await services.flows.take(key, FLOW, prefix=f"{nonce} ")  # consumed once, on any instance
    if value is None:
        return text(texts.UPLOAD_EXPIRED, edit=msg.message_id)
    state = json.loads(value.partition(" ")[2])
    name, folder = str(state["f"]), services.knowledge.path
    if not apply:
        await asyncio.to_thread(discard, folder, nonce)
        return text(texts.UPLOAD_CANCELLED.format(name=name), edit=msg.message_id)
    now = services.clock()
    try:
        await asyncio.to_thread(
            apply_upload, folder, name, nonce, expected=str(state["d"]), base=str(state["b"]), by=_actor(msg), now=now
        )
    except UploadConflict as err:
        template = texts.UPLOAD_CHANGED_MEANWHILE if err.conflict is Conflict.CHANGED else texts.UPLOAD_GONE
        return text(template.format(name=name), edit=msg.message_id)
    outcome = await asyncio.to_thread(services.knowledge.reload, confirm=True)
    await _tell_staff(msg, services, texts.UPLOAD_LOG_APPLIED, name, now)
    if not outcome.ok:
        return text(texts.UPLOAD_APPLIED_NOT_LIVE.format(name=name, problems=_reload_problems(outcome)),
                    edit=msg.message_id)
    return text(texts.UPLOAD_APPLIED.format(name=name, total=outcome.entry_count), edit=msg.message_id)


def _reload_problems(outcome: ReloadOutcome) -> str:
    return problem_lines(outcome.errors or outcome.problems, MAX_PROBLEMS_SHOWN, texts.UPLOAD_MORE_ERRORS)


async def _tell_staff(msg: IncomingMessage, services: Services, template: str, name: str, when: dt.datetime) -> None:
    """Post the journal line to the staff group, unless the staff member acted in that group (they saw it)."""
    if services.handoff.staff_chat in (None, (msg.channel, msg.chat_id)):
        return
    who = msg.display_name or texts.UPLOAD_SOMEONE
    await services.handoff.to_staff(text(template.format(who=who, name=name, when=_local(when, services))))


async def ask_undo(msg: IncomingMessage, services: Services) -> list[Reply]:
    """/hoantac: name the last applied upload (file, who, when) and ask before undoing it."""
    folder = services.knowledge.path
    record = await asyncio.to_thread(last_undoable, folder) if folder.is_dir() else None
    if record is None:
        return text(texts.UNDO_NOTHING)
    nonce = secrets.token_hex(4)
    await services.flows.start((msg.channel, msg.user_id), UNDO_FLOW, f"{nonce} {record.id} {record.file}",
                                ttl=UNDO_SECONDS)
    what = texts.UNDO_RESTORE if record.previous is not None else texts.UNDO_REMOVE
    who = record.by.name or texts.UPLOAD_SOMEONE
    return text(
        texts.UNDO_ASK.format(name=record.file, who=who, when=_local(record.at, services), what=what),
        [
            button(texts.BUTTON_UNDO_CONFIRM, pack("kb", "uy", nonce)),
            button(texts.BUTTON_UNDO_CANCEL, pack("kb", "un", nonce)),
        ],
    )


async def _answer_undo(msg: IncomingMessage, services: Services, nonce: str, *, undo: bool) -> list[Reply]:
    key = (msg.channel, msg.user_id)
    value = await services.flows.take(key, UNDO_FLOW, prefix=f"{nonce} ")
    if value is None:
        return text(texts.UPLOAD_EXPIRED, edit=msg.message_id)
    if not undo:
        return text(texts.UNDO_CANCELLED, edit=msg.message_id)
    _, record_id, name = value.split(" ", 2)
    folder, now = services.knowledge.path, services.clock()
    try:
        record = await asyncio.to_thread(undo_upload, folder, record_id, nonce=nonce, by=_actor(msg), now=now)
    except UploadConflict as err:
        if err.conflict is Conflict.NOTHING:
            return text(texts.UPLOAD_EXPIRED, edit=msg.message_id)
        template = texts.UNDO_CHANGED if err.conflict is Conflict.CHANGED else texts.UNDO_GONE
        return text(template.format(name=name), edit=msg.message_id)
    outcome = await asyncio.to_thread(services.knowledge.reload, confirm=True)
    await _tell_staff(msg, services, texts.UNDO_LOG, record.file, now)
    if not outcome.ok:
        return text(texts.UNDO_DONE_NOT_LIVE.format(name=record.file, problems=_reload_problems(outcome)),
                    edit=msg.message_id)
    return text(texts.UNDO_DONE.format(name=record.file, total=outcome.entry_count), edit=msg.message_id)
