"""Does a typed text look like a message someone received (to be checked) rather than a question to answer?

Citizens paste or forward suspicious SMS and chat messages without saying anything else. Those carry a link,
a sender tag (``[VCB]``, ``BHXH:``), an opening such as "Quý khách…" or "Chúc mừng…", or a one-time code. A
question that merely mentions scams ("lừa đảo là gì?") has none of these and stays with the FAQ.
"""

from __future__ import annotations

import re

from bot.scam.check import STRONG, Verdict
from bot.scam.config import DEFAULT_CONFIG, ScamConfig
from bot.scam.links import URL_PATTERN, deobfuscate, extract_links
from bot.scam.text import fold

_SENDER_TAG = re.compile(r"^\s*(?:[\[(【][^\])】\n]{2,24}[\])】]|[A-Z0-9][A-Z0-9_.&-]{1,14}\s*:)", re.MULTILINE)
_OPENING = re.compile(
    r"^(thong bao|tb|kinh gui|kinh thong bao|quy khach|chuc mung|xin chuc mung|ban da (?:trung|duoc)|"
    r"tai khoan cua (?:quy khach|ban)|tk cua quy khach|tk \S+ (?:cua quy khach|da bi)|thue bao|ma otp|ma xac thuc|"
    r"canh bao|khan|thu moi|giay trieu tap|lenh (?:bat|truy na)|quyet dinh xu phat)\b",
    re.MULTILINE,
)
_CODE = re.compile(r"(?<![\d.,])\d{4,8}(?![\d.,])")
_CODE_WORD = re.compile(r"\b(ma|otp|code|mat khau|pin|xac thuc)\b")
_QUESTION = re.compile(
    r"(\?|\b(khong|ko|k|chua|sao|nao|gi|dau|the nao|phai khong|co phai|duoc khong|nhi|a|ha)\s*[?.!]*)\s*$"
)
# A citizen telling what happened to them ("có người gọi xưng công an bảo tôi…") asks about it; the FAQ answers.
_NARRATIVE = re.compile(
    r"\b(co nguoi|co ai|nguoi (?:tu )?xung|(?:toi|em|minh|me toi|bo toi) (?:nhan duoc|bi|vua bi)|"
    r"goi (?:dien )?(?:bao|noi) (?:toi|em|minh))\b"
)
_QUESTION_START = re.compile(r"^(cho (?:em|toi|minh|chau) hoi|xin hoi|hoi|lam sao|lam the nao|tai sao|vi sao)\b")


def is_question(folded: str) -> bool:
    """The text reads as a question (ends like one, or starts "cho em hỏi…")."""
    return bool(_QUESTION.search(folded) or _QUESTION_START.match(folded))


def only_link(text: str) -> bool:
    """The text is a link and (almost) nothing else."""
    clean = deobfuscate(text)
    rest = URL_PATTERN.sub(" ", clean)
    return extract_links(clean, limit=1)[1] > 0 and sum(ch.isalnum() for ch in rest) <= 3


def looks_like_message(text: str, verdict: Verdict, config: ScamConfig = DEFAULT_CONFIG) -> bool:
    """True when ``text`` should be checked for scam signs instead of answered as a question."""
    if only_link(text):
        return True
    if any(s.code == "link_unknown" for s in verdict.signals):
        return True
    folded = fold(text)
    if _SENDER_TAG.search(text) or _OPENING.search(folded):
        return True
    if _CODE_WORD.search(folded) and _CODE.search(folded):
        return True
    strong = any(s.weight >= STRONG for s in verdict.signals)
    return strong and len(folded) >= 60 and not is_question(folded) and not _NARRATIVE.search(folded)
