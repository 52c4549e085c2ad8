"""Is this a scam? ``/kiemtra <text>``, forwarded messages, and pasted messages or bare links.

The check itself lives in :mod:`bot.scam`; this module picks the messages to check, finds the closest scam
entries through the knowledge search, and words the reply. The checked text is never logged or stored:
only the level and the signal codes are logged.
"""

from __future__ import annotations

import asyncio
import logging

from bot.kb.loader import WARD_DEFAULTS
from bot.messages import IncomingMessage, Reply
from bot.scam import DEFAULT_CONFIG, Level, ScamConfig, Verdict, analyze, looks_like_message
from bot.scam.advice import closest_entries
from bot.scam.config import CONFIG_NAME
from bot.services import Services
from handlers import texts
from handlers.ui import button, column, text

log = logging.getLogger(__name__)


def config_of(services: Services) -> ScamConfig:
    """The live ``_scam.yaml`` configuration (built-in lists when the ward has none)."""
    config = services.knowledge.config.get(CONFIG_NAME)
    return config if isinstance(config, ScamConfig) else DEFAULT_CONFIG


async def kiemtra(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``/kiemtra <text>``: check the text after the command, or explain how to use it."""
    parts = (msg.text or "").split(None, 1)
    body = parts[1].strip() if len(parts) > 1 else ""
    if not body:
        return text(texts.SCAM_USAGE)
    return await check(msg, services, body)


async def maybe_check(msg: IncomingMessage, services: Services, body: str) -> list[Reply] | None:
    """Check a forwarded message, or typed text that looks like a received message; None for a question."""
    config = config_of(services)
    verdict = analyze(body, config)
    if msg.forwarded or looks_like_message(body, verdict, config):
        return await check(msg, services, body, verdict)
    return None


async def check(msg: IncomingMessage, services: Services, body: str, verdict: Verdict | None = None) -> list[Reply]:
    """Check ``body`` and reply with the level, the signs, what to do, the ward's contact and advice entries."""
    config = config_of(services)
    verdict = verdict or analyze(body, config)
    entry_ids = await asyncio.to_thread(
        closest_entries, services.knowledge.search, body, verdict, config.entry_category
    )
    log.info("scam check on %s: %s %s", msg.channel, verdict.level.value, ",".join(verdict.codes))
    kb = services.knowledge.kb
    parts = [texts.SCAM_LEVEL[verdict.level.value]]
    signs = [_explain(s.code, s.detail) for s in verdict.signals]
    if signs:
        parts.append(texts.SCAM_SIGNS_TITLE + "\n" + "\n".join(f"- {s}" for s in signs))
    if verdict.level is Level.NONE:
        parts.append(texts.SCAM_NONE_CAUTION)
    parts.append(texts.SCAM_WHAT_TO_DO.format(police=kb.ward.police_phone or WARD_DEFAULTS["police_phone"]))
    parts.append(texts.SCAM_CONTACT.format(contact=kb.ward.contact_line()))
    entries = [e for e in (kb.entry(i) for i in entry_ids) if e is not None]
    if entries:
        parts.append(texts.SCAM_MORE)
    return text("\n\n".join(parts), *column(button(e.question, f"a:{e.id}") for e in entries))


def _explain(code: str, detail: str) -> str:
    """One plain sentence for a signal; authority kinds are named in Vietnamese."""
    if code == "impersonation":
        names = [texts.SCAM_AUTHORITIES.get(kind, kind) for kind in detail.split(",") if kind]
        detail = ", ".join(names)
    return texts.SCAM_SIGNALS.get(code, code).format(detail=detail)
