"""Does a typed text look like a message someone received (to be checked) rather than a question to answer?

Citizens paste or forward suspicious SMS and chat messages without saying anything else. Those carry a link,
a sender tag (``[VCB]``, ``BHXH:``), an opening such as "Quý khách…" or "Chúc mừng…", or a one-time code. A
question that merely mentions scams ("lừa đảo là gì?") has none of these and stays with the FAQ.
"""

from __future__ import annotations

import re

from bot.scam.check import STRONG, Level, Verdict
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
    r"\b(co (?:nguoi|ng|ai)|(?:nguoi|ng) (?:tu )?xung|(?:nguoi|ng) ta|goi (?:dien )?(?:bao|noi)|"
    r"nhan tin (?:bao|noi|ru)|(?:toi|em|e|minh|me (?:toi|em|e)|bo (?:toi|em|e)) (?:nhan duoc|bi|vua|cai|quen|lo))\b"
)
# Words of someone asking the bot, wherever they stand: "ad ơi", "có phải lừa không", "phải làm sao".
_ASKING = re.compile(
    r"\b(ad oi|ad|admin|co phai|phai khong|phai ko|lam sao|lam gi|lm j|the nao|duoc khong|dc ko|lua ko|lua khong|"
    r"o dau|bao nhieu|dac diem gi|la gi|nhu the nao|ra sao)\b"
)
_QUESTION_START = re.compile(r"^(cho (?:em|toi|minh|chau) hoi|xin hoi|hoi|lam sao|lam the nao|tai sao|vi sao)\b")


def is_question(folded: str) -> bool:
    """The text reads as a question (ends like one, or starts "cho em hỏi…")."""
    return bool(_QUESTION.search(folded) or _QUESTION_START.match(folded) or _ASKING.search(folded))


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
    # Any sign beyond naming an authority, in a message-length text that neither asks nor tells the citizen's story.
    signs = [s for s in verdict.signals if s.code != "impersonation"]
    if not signs or len(folded) < 60 or is_question(folded) or _NARRATIVE.search(folded):
        return False
    return verdict.level is not Level.NONE or any(s.weight >= STRONG for s in signs)
