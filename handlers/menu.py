"""/start, /help and the topic menu: topics → questions of a topic (paged) → answer."""

from __future__ import annotations

from bot.messages import Button, IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import button, column, invalid_button, text

PAGE_SIZE = 7  # typed numbers 1–7; 8, 9 and 0 are the paging buttons on every page


def topic_buttons(services: Services) -> list[tuple[Button | None]]:
    """One button per category, in knowledge-base order."""
    return column(button(c.title, f"m:cat:{c.slug}") for c in services.knowledge.kb.categories)


async def start(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Greet, say what the bot can do and offer the main topics."""
    kb = services.knowledge.kb
    return text(texts.START.format(ward=kb.ward.name), *topic_buttons(services))


async def help_(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Explain how to ask and list the commands."""
    contact = services.knowledge.kb.ward.contact_line()
    help_text = texts.HELP if msg.receives_notices else texts.HELP_WITHOUT_NOTICES
    return text(help_text.format(contact=contact), [button(texts.BUTTON_TOPICS, "m:root")])


async def topics(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Show the topic list; edits the menu in place when reached by a button."""
    edit = msg.message_id if msg.button_data else None
    if not services.knowledge.kb.categories:
        return text(texts.NO_TOPICS, edit=edit)
    return text(texts.MENU_TOPICS, *topic_buttons(services), edit=edit)


async def navigate(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``m:root``, ``m:cat:<slug>`` and ``m:cat:<slug>:<page>``."""
    parts = (msg.button_data or "").split(":")
    if parts == ["m", "root"]:
        return await topics(msg, services)
    if len(parts) not in (3, 4) or parts[1] != "cat":
        return invalid_button()
    category = services.knowledge.kb.category(parts[2])
    page_text = parts[3] if len(parts) == 4 else "1"
    if category is None or not page_text.isdigit():
        return invalid_button()
    entries = category.entries
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = int(page_text)
    if not 1 <= page <= pages:
        return invalid_button()
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    message = texts.MENU_QUESTIONS.format(title=category.title)
    if pages > 1:
        message += " " + texts.MENU_PAGE.format(page=page, pages=pages)
    paging = [
        button(texts.BUTTON_PREV, f"m:cat:{category.slug}:{page - 1}", texts.NUMBER_PREV) if page > 1 else None,
        button(texts.BUTTON_NEXT, f"m:cat:{category.slug}:{page + 1}", texts.NUMBER_NEXT) if page < pages else None,
    ]
    return text(
        message,
        *column(button(e.question, f"a:{e.id}") for e in shown),
        paging,
        [button(texts.BUTTON_BACK, "m:root", texts.NUMBER_BACK)],
        edit=msg.message_id,
    )
