"""👍/👎 on answers, and the optional short comment after a 👎."""

from __future__ import annotations

from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import texts
from handlers.ui import button, invalid_button, text

COMMENT_WAIT_SECONDS = 300.0
MAX_COMMENT = 1000
PENDING_KIND = "feedback_comment"
SKIP_WORDS = frozenset({"bo qua", "khong", "thoi", "skip", "huy"})


async def vote(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``fb:<log-id>:<0|1>``, ``fb:e:<entry-id>:<0|1>`` and ``fb:skip``."""
    data = msg.button_data or ""
    key = (msg.channel, msg.user_id)
    if data == "fb:skip":
        services.pending.clear(key, PENDING_KIND)
        return text(texts.COMMENT_SKIPPED, edit=msg.message_id)
    head, _, flag = data.rpartition(":")
    target = head.removeprefix("fb:")
    if flag not in ("0", "1") or not target:
        return invalid_button()
    helpful = flag == "1"
    if target.startswith("e:"):
        entry_id = target[2:]
        if services.knowledge.kb.entry(entry_id) is None:
            return invalid_button()
        feedback_id = await services.records.record_feedback(
            channel=msg.channel, external_id=msg.user_id, helpful=helpful, entry_id=entry_id
        )
    elif target.isdigit():
        feedback_id = await services.records.record_feedback(
            channel=msg.channel, external_id=msg.user_id, helpful=helpful, question_log_id=int(target)
        )
    else:
        return invalid_button()
    if feedback_id is None:
        return invalid_button()
    if helpful:
        services.pending.clear(key, PENDING_KIND)
        return text(texts.THANKS_FOR_VOTE)
    services.pending.set(key, PENDING_KIND, str(feedback_id), now=services.clock(), ttl=COMMENT_WAIT_SECONDS)
    return text(texts.ASK_COMMENT, [button(texts.BUTTON_SKIP, "fb:skip")])


def is_skip(folded: str) -> bool:
    """True when the user declines to comment ("bỏ qua")."""
    return folded in SKIP_WORDS


async def comment(msg: IncomingMessage, services: Services, feedback_id: str, body: str, folded: str) -> list[Reply]:
    """Store the text as the comment on the user's 👎, or skip it on "bỏ qua"."""
    services.pending.clear((msg.channel, msg.user_id), PENDING_KIND)
    if is_skip(folded):
        return text(texts.COMMENT_SKIPPED)
    await services.records.add_comment(
        channel=msg.channel, external_id=msg.user_id, feedback_id=int(feedback_id), comment=body[:MAX_COMMENT]
    )
    return text(texts.COMMENT_SAVED)
