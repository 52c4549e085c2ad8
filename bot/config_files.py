"""Every configuration file of the knowledge folder the bot reads besides ``_ward`` and ``_synonyms``: importing
this module registers each reader with the knowledge loader, so that whatever loads the folder (the running bot,
``kb check``, ``kb confirm``) reports problems in all of them instead of calling them unused. Commands that only
answer questions (``ask``) skip it to start fast; the files do not change an answer."""

from __future__ import annotations

from bot.broadcast import planned as _announcements_and_schedule  # noqa: F401
from bot.handoff import drafts as _drafted_answers  # noqa: F401  (_de-xuat)
from bot.handoff import topics as _report_topics  # noqa: F401  (_phananh)
from bot.scam import config as _scam  # noqa: F401
