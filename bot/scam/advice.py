"""The knowledge base's scam entries closest to a checked message, so the reply ends with specific advice.

The knowledge engine is used only through its public search (text in, ranked entries out). The message's
wording is searched first; each signal also searches a short phrase of what it is about, which finds the
right entry when the message itself is mostly a link or a code.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.kb.result import SearchResult
from bot.scam.check import Verdict
from bot.scam.links import URL_PATTERN, deobfuscate

MAX_QUERY = 300  # the opening of a message carries its topic; longer queries only cost time
# What each signal is about, in the words the scam entries use.
SIGNAL_TOPICS: dict[str, str] = {
    "link_apk": "tải ứng dụng file apk từ đường link",
    "install_app": "tải ứng dụng file apk từ đường link",
    "safe_account": "chuyển tiền vào tài khoản an toàn",
    "recovery_offer": "lấy lại tiền bị lừa",
    "asks_secret": "hỏi mã OTP mật khẩu",
    "gov_link_not_official": "trang web dịch vụ công giả mạo",
    "link_lookalike": "trang web giả mạo",
    "link_homoglyph": "trang web giả mạo",
    "threat": "giấy triệu tập phạt nguội",
    "lure": "trúng thưởng hoàn tiền",
}


def closest_entries(
    search: Callable[[str], SearchResult], text: str, verdict: Verdict, category: str, limit: int = 3
) -> list[str]:
    """Ids of up to ``limit`` entries of ``category`` closest to the message and its signals, best first."""
    queries = [URL_PATTERN.sub(" ", deobfuscate(text[: MAX_QUERY * 4]))[:MAX_QUERY]]
    queries += [SIGNAL_TOPICS[s.code] for s in verdict.signals if s.code in SIGNAL_TOPICS]
    found: list[str] = []
    for query in dict.fromkeys(queries):
        if not query.strip():
            continue
        for candidate in search(query).candidates:
            entry = candidate.entry
            if entry.category == category and entry.id not in found:
                found.append(entry.id)
                break  # one entry per query: the message's own topic first, then each signal's
        if len(found) >= limit:
            break
    return found
