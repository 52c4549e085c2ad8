"""/dangky and /huydangky: subscribe to the ward's announcements or stop them."""

from __future__ import annotations

from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import text


async def subscribe(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Turn announcements on for this user."""
    was = await services.records.set_subscribed(
        channel=msg.channel, external_id=msg.user_id, display_name=msg.display_name, subscribed=True
    )
    if was:
        return text(texts.ALREADY_SUBSCRIBED)
    return text(texts.SUBSCRIBED.format(ward=services.knowledge.kb.ward.name))


async def unsubscribe(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Turn announcements off for this user."""
    was = await services.records.set_subscribed(
        channel=msg.channel, external_id=msg.user_id, display_name=msg.display_name, subscribed=False
    )
    return text(texts.UNSUBSCRIBED if was else texts.NOT_SUBSCRIBED)
