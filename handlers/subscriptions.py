"""/dangky and /huydangky: subscribe to the ward's announcements, choose topics and an area, or stop them.

Topics and areas come from ``_announcements.yaml`` (built-in defaults without it). Every notice ends with the
one-tap ``unsub`` button built by :func:`notice_reply`, used for the staff preview and for delivery alike.
"""

from __future__ import annotations

from bot.broadcast.planned import AnnouncementConfig, announcement_config
from bot.broadcast.service import Subscription
from bot.messages import Button, IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import button, text

UNSUBSCRIBE_DATA = "unsub"


def notice_reply(body: str) -> Reply:
    """A notice exactly as citizens receive it: the text, a footer, and the unsubscribe button."""
    return Reply(
        text=f"{body.strip()}\n\n{texts.NOTICE_FOOTER}",
        buttons=((Button(texts.BUTTON_UNSUBSCRIBE, data=UNSUBSCRIBE_DATA),),),
    )


def _config(services: Services) -> AnnouncementConfig:
    return announcement_config(services.knowledge.config)


def describe(sub: Subscription, config: AnnouncementConfig) -> str:
    """The user's choices in words."""
    chosen = [t.title for t in config.topics if not sub.topics or t.id in sub.topics]
    topics = texts.SUBSCRIPTION_ALL_TOPICS if not sub.topics or len(chosen) == len(config.topics) else ", ".join(chosen)
    area = config.area(sub.area)
    return texts.SUBSCRIPTION_CHOICES.format(topics=topics, area=area.title if area else texts.SUBSCRIPTION_WHOLE_WARD)


def choice_buttons(sub: Subscription, config: AnnouncementConfig) -> list[tuple[Button | None, ...]]:
    """Toggle buttons for topics, pick buttons for areas, and "Xong"."""
    rows: list[tuple[Button | None, ...]] = []
    for topic in config.topics:
        on = not sub.topics or topic.id in sub.topics
        mark = texts.BUTTON_TOPIC_ON if on else texts.BUTTON_TOPIC_OFF
        rows.append((button(mark + topic.title, f"sub:t:{topic.id}"),))
    if config.areas:
        current = sub.area if config.area(sub.area) else None
        areas = [(None, texts.BUTTON_AREA_ALL)] + [(a.id, a.title) for a in config.areas]
        pairs = [
            button((texts.BUTTON_AREA_PREFIX if area_id == current else "") + title, f"sub:a:{area_id or '-'}")
            for area_id, title in areas
        ]
        rows.extend(tuple(pairs[i : i + 2]) for i in range(0, len(pairs), 2))
    rows.append((button(texts.BUTTON_SUBSCRIPTION_DONE, "sub:ok"),))
    return rows


async def subscribe(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Turn announcements on for this user and show the topic/area choices (where the channel can deliver them)."""
    if not msg.receives_notices:
        return text(texts.NOTICES_UNAVAILABLE.format(ward=services.knowledge.kb.ward.name))
    before, after = await services.broadcasts.update_subscription(
        channel=msg.channel, external_id=msg.user_id, display_name=msg.display_name, subscribed=True
    )
    config = _config(services)
    if before.subscribed:
        return text(texts.ALREADY_SUBSCRIBED, *choice_buttons(after, config))
    intro = texts.SUBSCRIBED.format(ward=services.knowledge.kb.ward.name)
    return text(f"{intro}\n\n{describe(after, config)}", *choice_buttons(after, config))


async def unsubscribe(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Turn announcements off for this user."""
    before, _ = await services.broadcasts.update_subscription(
        channel=msg.channel, external_id=msg.user_id, display_name=msg.display_name, subscribed=False
    )
    if not before.subscribed:
        return text(texts.NOT_SUBSCRIBED)
    return text(texts.UNSUBSCRIBED, [button(texts.BUTTON_RESUBSCRIBE, "sub:on")])


async def unsubscribe_button(msg: IncomingMessage, services: Services) -> list[Reply]:
    """The one-tap "Hủy nhận thông báo" under every notice."""
    return await unsubscribe(msg, services)


async def choose(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``sub:t:<topic>``, ``sub:a:<area>|-``, ``sub:on`` and ``sub:ok``."""
    parts = (msg.button_data or "").split(":", 2)
    config = _config(services)
    action = parts[1] if len(parts) > 1 else ""
    if action == "on" or not msg.receives_notices:
        return await subscribe(msg, services)
    current = await services.broadcasts.subscription(channel=msg.channel, external_id=msg.user_id)
    if not current.subscribed:
        return text(texts.SUBSCRIPTION_NOT_ACTIVE)
    if action == "ok":
        return text(f"{texts.SUBSCRIPTION_SAVED}\n\n{describe(current, config)}", edit=msg.message_id)
    value = parts[2] if len(parts) > 2 else ""
    if action == "t" and config.topic(value) is not None:
        chosen = list(current.topics) or [t.id for t in config.topics]
        if value in chosen:
            if len(chosen) > 1:  # at least one topic stays on; /huydangky stops everything
                chosen.remove(value)
        else:
            chosen.append(value)
        ordered = [t.id for t in config.topics if t.id in chosen]
        topics = [] if len(ordered) == len(config.topics) else ordered
        _, after = await services.broadcasts.update_subscription(
            channel=msg.channel, external_id=msg.user_id, topics=topics
        )
    elif action == "a" and (value == "-" or config.area(value) is not None):
        _, after = await services.broadcasts.update_subscription(
            channel=msg.channel, external_id=msg.user_id, area=None if value == "-" else value
        )
    else:
        return text(texts.INVALID_BUTTON)
    return text(describe(after, config), *choice_buttons(after, config), edit=msg.message_id)
