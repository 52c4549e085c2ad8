"""Staff-only commands: /reload re-reads the knowledge base and reports problems as ``file:line: message``.

/reload is also how staff confirm an edit the watcher held because it looked like an interrupted copy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.kb.problems import Problem
from bot.kb.store import ReloadOutcome
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import text

MAX_PROBLEMS_SHOWN = 15


async def reload(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Reload the knowledge base; the previous one stays live when the new one has errors."""
    if not msg.is_staff:
        return text(texts.STAFF_ONLY)
    outcome = await asyncio.to_thread(services.knowledge.reload, confirm=True)
    return reload_report(outcome)


def reload_report(outcome: ReloadOutcome) -> list[Reply]:
    """What staff read after a reload, by /reload or because a file changed: the size, or the problems."""
    if outcome.ok:
        return text(texts.RELOAD_OK.format(count=outcome.entry_count))
    problems = outcome.errors or outcome.problems
    template = texts.RELOAD_HELD if outcome.held else texts.RELOAD_FAILED
    return text(template.format(problems=problem_lines(problems, MAX_PROBLEMS_SHOWN, texts.RELOAD_MORE)))


def problem_lines(problems: Sequence[Problem], limit: int, more: str) -> str:
    """``file:line: message`` lines for staff, at most ``limit``, then ``more`` with how many were left out."""
    lines = [f"- `{problem}`" for problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(more.format(count=len(problems) - limit))
    return "\n".join(lines)
