"""Greetings, thanks, goodbyes and "who are you": short friendly replies instead of "not found".

Only short messages made of nothing but such words count; "chào bạn, cho hỏi cách cài VNeID" is a question.
A message of emoji alone is a reaction: 👍 or 👎 right after an answer rates it, like its button.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from enum import StrEnum

from bot.kb.normalize import fold
from bot.messages import IncomingMessage, Reply
from bot.services import Services
from handlers import feedback, texts
from handlers.ui import button, text


class Kind(StrEnum):
    """What a small-talk message is."""

    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    WHO = "who"
    HOW_ARE_YOU = "how_are_you"
    ACK = "ack"


# Whole (folded) phrases; a message matches when, after dropping fillers, it is one or more of these.
PHRASES: dict[Kind, tuple[str, ...]] = {
    Kind.GREETING: (
        "chao", "xin chao", "hello", "helo", "hi", "hey", "alo", "a lo", "alo alo", "good morning",
        "chao buoi sang", "chao buoi chieu", "chao buoi toi", "xin chao buoi sang", "kinh chao", "hola",
    ),
    Kind.THANKS: (
        "cam on", "xin cam on", "camon", "thanks", "thank", "thank you", "thankyou", "thx", "tks",
        "ty", "cam on nhieu", "cam on rat nhieu", "da cam on", "cmon",
    ),
    Kind.GOODBYE: ("tam biet", "bye", "bye bye", "goodbye", "hen gap lai", "chao tam biet", "pp"),
    Kind.WHO: (
        "ban la ai", "bot ten gi", "ban ten gi", "ten ban la gi", "ban la gi", "bot la ai", "em la ai",
        "may la ai", "ban la nguoi hay may", "ban la robot a", "ban co phai nguoi that khong", "day la ai",
        "ban lam duoc gi", "ban giup duoc gi", "bot lam duoc gi", "em ten gi",
    ),
    Kind.HOW_ARE_YOU: ("ban khoe khong", "khoe khong", "ban co khoe khong", "how are you"),
    Kind.ACK: ("ok", "oke", "okay", "okie", "vang", "da vang", "da", "u", "uh", "uk", "duoc roi", "hieu roi", "ok roi"),
}  # fmt: skip

# Words that may surround small talk without changing it: addressing and courtesy particles.
FILLERS = frozenset(
    {
        "a", "ad", "admin", "ban", "bot", "em", "anh", "chi", "co", "chu", "bac", "minh", "oi", "nhe",
        "nha", "nhieu", "lam", "ha", "vay", "tro", "ly", "so", "trolyso", "bro", "nhen", "nghen",
    }
)  # fmt: skip
MAX_WORDS = 8

_ORDER = (Kind.WHO, Kind.HOW_ARE_YOU, Kind.THANKS, Kind.GOODBYE, Kind.GREETING, Kind.ACK)
_PHRASE_TOKENS = {kind: [tuple(p.split()) for p in phrases] for kind, phrases in PHRASES.items()}


def _cover(tokens: tuple[str, ...]) -> set[Kind] | None:
    """The kinds of phrases that, with fillers, make up all of ``tokens``; None if anything else remains."""
    found: set[Kind] = set()
    i = 0
    while i < len(tokens):
        best: tuple[int, Kind] | None = None
        for kind, phrases in _PHRASE_TOKENS.items():
            for phrase in phrases:
                if tokens[i : i + len(phrase)] == phrase and (best is None or len(phrase) > best[0]):
                    best = (len(phrase), kind)
        if best is not None:
            found.add(best[1])
            i += best[0]
        elif tokens[i] in FILLERS:
            i += 1
        else:
            return None
    return found


def detect(message: str) -> Kind | None:
    """The kind of small talk ``message`` is, or None when it asks something else."""
    folded = fold(message)
    if not folded:
        return None
    tokens = tuple(folded.split())
    if len(tokens) > MAX_WORDS:
        return None
    whole = " ".join(t for t in tokens if t not in FILLERS) or folded
    for kind in (Kind.WHO, Kind.HOW_ARE_YOU):
        if folded in PHRASES[kind] or whole in PHRASES[kind]:
            return kind
    kinds = _cover(tokens)
    if not kinds:
        return None
    return next(kind for kind in _ORDER if kind in kinds)


async def reply(msg: IncomingMessage, services: Services, kind: Kind) -> list[Reply]:
    """A short friendly reply to small talk."""
    ward = services.knowledge.kb.ward.name
    topics = [button(texts.BUTTON_TOPICS, "m:root")]
    if kind is Kind.GREETING:
        return text(texts.GREETING.format(ward=ward), topics)
    if kind is Kind.WHO:
        return text(texts.WHO_AM_I.format(ward=ward), topics)
    if kind is Kind.THANKS:
        return text(texts.THANKS)
    if kind is Kind.GOODBYE:
        return text(texts.GOODBYE)
    if kind is Kind.HOW_ARE_YOU:
        return text(texts.HOW_ARE_YOU, topics)
    return text(texts.ACKNOWLEDGE)


class Reaction(StrEnum):
    """What a message of emoji alone means."""

    LIKE = "like"
    DISLIKE = "dislike"
    OTHER = "other"


LIKE_EMOJI = frozenset("👍👌👏🙏❤💯✅😊😀😁😃😄🥰😍🤩☺🙂💕💖")
DISLIKE_EMOJI = frozenset("👎😞😟😠😡😢😭🙁☹❌")
MAX_REACTION = 5  # a longer run of emoji is noise, not a reaction
_EMOJI_JOINERS = frozenset("\u200d\ufe0e\ufe0f\u20e3")  # zero-width joiner, variation selectors, keycap


def reaction(message: str | None) -> Reaction | None:
    """The reaction a message of nothing but emoji (and spaces) expresses, or None when it has anything else."""
    if not message or len(message) > 32:
        return None
    symbols = [ch for ch in message if not ch.isspace() and ch not in _EMOJI_JOINERS]
    if not 0 < len(symbols) <= MAX_REACTION or not all(_is_emoji(ch) for ch in symbols):
        return None
    if any(ch in DISLIKE_EMOJI for ch in symbols):
        return Reaction.DISLIKE
    if any(ch in LIKE_EMOJI for ch in symbols):
        return Reaction.LIKE
    return Reaction.OTHER


def _is_emoji(ch: str) -> bool:
    """Pictographs, symbols and skin-tone modifiers (Unicode category So/Sk), the characters emoji are made of."""
    return unicodedata.category(ch) in ("So", "Sk")


async def react(msg: IncomingMessage, services: Services, kind: Reaction) -> list[Reply]:
    """👍/👎 right after an answer rate it (as its button would); otherwise a short friendly word."""
    if kind is not Reaction.OTHER:
        flag = "1" if kind is Reaction.LIKE else "0"
        offered = services.choices.choices((msg.channel, msg.user_id), services.clock())
        vote = next((d for d in offered.values() if d.startswith("fb:") and d.endswith(f":{flag}")), None)
        if vote is not None:
            return await feedback.vote(replace(msg, text=None, button_data=vote, message_id=None), services)
    if kind is Reaction.LIKE:
        return text(texts.REACTION_LIKE)
    if kind is Reaction.DISLIKE:
        return text(texts.REACTION_DISLIKE, [button(texts.BUTTON_TOPICS, "m:root")])
    return text(texts.REACTION_OTHER)
