"""/xoadulieu: explain what will be deleted, then delete on a confirm bound to this user."""

from __future__ import annotations

import secrets

from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import button, text

CONFIRM_SECONDS = 300.0
PENDING_KIND = "confirm_delete"


async def ask_delete(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Explain what gets deleted and offer confirm/cancel buttons that only this user can use."""
    nonce = secrets.token_hex(4)
    key = (msg.channel, msg.user_id)
    await services.flows.start(key, PENDING_KIND, nonce, ttl=CONFIRM_SECONDS)
    return text(
        texts.DELETE_EXPLAIN,
        [
            button(texts.BUTTON_DELETE_CONFIRM, f"del:yes:{nonce}"),
            button(texts.BUTTON_DELETE_CANCEL, f"del:no:{nonce}"),
        ],
    )


async def confirm(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``del:yes:<nonce>`` / ``del:no:<nonce>``; a nonce not pending for this user does nothing."""
    parts = (msg.button_data or "").split(":")
    key = (msg.channel, msg.user_id)
    if len(parts) != 3 or parts[1] not in ("yes", "no"):
        return text(texts.DELETE_EXPIRED)
    if await services.flows.take(key, PENDING_KIND, parts[2]) is None:  # consumed once, on any instance
        return text(texts.DELETE_EXPIRED)
    if parts[1] == "no":
        return text(texts.DELETE_CANCELLED, edit=msg.message_id)
    await services.records.delete_user(channel=msg.channel, external_id=msg.user_id)
    await services.flows.finish(key)
    services.choices.forget(key)
    return text(texts.DELETED, edit=msg.message_id)
