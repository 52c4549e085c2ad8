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
# Accent-folded words and phrases that make a message a question rather than a comment ("hơi", "máy" and "ạ"
# fold to words that look like question words, so they are not listed).
QUESTION_WORDS = frozenset({"gi", "sao", "nao", "ai"})
QUESTION_PHRASES = ("bao nhieu", "bao gio", "bao lau", "o dau", "the nao", "lam sao", "cho hoi", "xin hoi",
                    "muon hoi", "muon biet", "can biet", "co duoc", "co phai")  # fmt: skip
QUESTION_TAIL = frozenset({"khong", "chua", "ko", "k", "hok", "hem", "nhi"})  # "… được không", "… chưa"


async def vote(msg: IncomingMessage, services: Services) -> list[Reply]:
    """Handle ``fb:<log-id>:<0|1>``, ``fb:e:<entry-id>:<0|1>`` and ``fb:skip``."""
    data = msg.button_data or ""
    key = (msg.channel, msg.user_id)
    if data == "fb:skip":
        await services.flows.finish(key, PENDING_KIND)
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
        await services.flows.finish(key, PENDING_KIND)
        return text(texts.THANKS_FOR_VOTE)
    await services.flows.start(key, PENDING_KIND, str(feedback_id), ttl=COMMENT_WAIT_SECONDS)
    return text(texts.ASK_COMMENT, [button(texts.BUTTON_SKIP, "fb:skip")])


def looks_like_question(body: str, folded: str, services: Services) -> bool:
    """True unless the text is clearly a comment: a question mark, a question word, or a confident match in
    the knowledge base all make it a question to answer."""
    if "?" in body or "？" in body:
        return True
    words = folded.split()
    padded = f" {folded} "
    if any(f" {phrase} " in padded for phrase in QUESTION_PHRASES) or any(w in QUESTION_WORDS for w in words):
        return True
    if len(words) > 1 and words[-1] in QUESTION_TAIL:
        return True
    return services.knowledge.search(body).answered


def is_skip(folded: str) -> bool:
    """True when the user declines to comment ("bỏ qua")."""
    return folded in SKIP_WORDS


async def comment(msg: IncomingMessage, services: Services, feedback_id: str, body: str, folded: str) -> list[Reply]:
    """Store the text as the comment on the user's 👎, or skip it on "bỏ qua"."""
    if await services.flows.take((msg.channel, msg.user_id), PENDING_KIND, feedback_id) is None:
        return []  # taken a moment ago by another message (another instance): the caller answers it instead
    if is_skip(folded):
        return text(texts.COMMENT_SKIPPED)
    await services.records.add_comment(
        channel=msg.channel, external_id=msg.user_id, feedback_id=int(feedback_id), comment=body[:MAX_COMMENT]
    )
    return text(texts.COMMENT_SAVED)
