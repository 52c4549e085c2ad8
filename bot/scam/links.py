"""Links in a message: undo the tricks that hide them, find them, and read their real domain.

Scam messages write links so that filters and careful readers miss them: ``hxxp``, ``[.]``, ``(.)``, spaces
around dots, full-width or ideographic dots. :func:`deobfuscate` undoes those; :func:`extract_links` finds
links with or without a scheme and returns each host in three forms: ASCII (punycode, as a browser sends it),
Unicode (as the citizen sees it) and a *skeleton* where look-alike letters (Cyrillic ``а``, Greek ``ο``,
Vietnamese ``ệ``…) are mapped to the plain Latin letter they imitate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text`` (for long built-in lists)."""
    return tuple(text.split())


MAX_LINKS = 50  # links examined per message; a message with thousands of links is judged on the first ones
MAX_HOST = 253
MAX_LABEL = 63

# Top-level domains accepted without a scheme ("vneid.gov.vn", "bit.ly/abc"): common ones and the cheap ones
# scam campaigns favour. With ``http(s)://`` in front any top-level domain is accepted.
BARE_TLDS = frozenset(
    words(
        """vn com net org info biz edu gov xyz top cc io me ly gl co site online shop store app vip club live link
    click icu buzz asia pro tk ml ga cf gq tech website space fun life id at gd to us uk cn ru in so ai dev page
    cloud one win bet cyou sbs lol bond mobi name tv ws su pw cx work today email support services center"""
    )
)

_DOT_WORD = r"(?:\.|dot|ch[aấ]m)"
_BRACKETED_DOT = re.compile(
    rf"\s*(?:\[\s*{_DOT_WORD}\s*\]|\(\s*{_DOT_WORD}\s*\)|\{{\s*{_DOT_WORD}\s*\}}|<\s*{_DOT_WORD}\s*>)\s*", re.IGNORECASE
)
_BRACKETED_COLON = re.compile(r"\[\s*:\s*\]|\(\s*:\s*\)")
_HXXP = re.compile(r"\b(?:hxxp|hxp|hxtp|htxp|h\*\*p|h__p)(s?)\s*:\s*/\s*/", re.IGNORECASE)
_SPACED_SCHEME = re.compile(r"\b(https?)\s+:\s*/\s*/|\b(https?)\s*:\s+/\s*/", re.IGNORECASE)
_ODD_DOTS = str.maketrans({"。": ".", "．": ".", "｡": ".", "․": ".", "﹒": ".", "·": "."})
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
# "vneid . gov . vn", "dichvucong .gov.vn": spaces around dots inside something that ends like a domain.
_SPACED_DOMAIN = re.compile(
    r"(?<![\w.])[a-z0-9][a-z0-9-]{0,62}(?:\s*\.\s*[a-z0-9][a-z0-9-]{0,62}){0,5}\s*\.\s*"
    r"(?:com|net|org|xyz|top|info|vip|cc|site|online|shop|click|app|io|me|ly|link|live|icu|gov\s*\.\s*vn|"
    r"com\s*\.\s*vn|net\s*\.\s*vn|org\s*\.\s*vn|edu\s*\.\s*vn)(?![\w])",
    re.IGNORECASE,
)

URL_PATTERN = re.compile(
    r"(?<![\w@.\-/])(?P<scheme>https?://)?"
    r"(?P<host>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}(?:xn--[a-z0-9-]{1,59}|[^\W\d_]{2,24}))\.?"
    r"(?P<port>:\d{1,5})?(?P<path>[/?#][^\s<>\"'`]{0,2048})?",
    re.IGNORECASE,
)
_IP_URL = re.compile(r"(?<![\w.])(?:https?://)?(?P<host>\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?(?P<path>/[^\s<>\"']*)?")

# Letters that imitate Latin ones (Unicode's confusables, the ones phishing domains use); accents are
# stripped separately, so "vnéid" and "vnеid" (Cyrillic е) both read as "vneid".
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "п": "n",
        "н": "h", "ц": "u", "ѵ": "v", "ё": "e", "ї": "i",
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c",
        "ı": "i", "ɡ": "g", "ɑ": "a", "ʋ": "v", "ℓ": "l", "ɩ": "i", "ɪ": "i", "ʀ": "r", "ꞵ": "b", "đ": "d",
        "ð": "d", "ø": "o", "ł": "l", "ß": "b",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Link:
    """One link found in a message."""

    raw: str  # as matched, after de-obfuscation
    host: str  # ASCII (punycode) form, lower case, no "www."
    display: str  # Unicode form, as the citizen sees it
    skeleton: str  # look-alike letters mapped to Latin, accents stripped
    path: str
    has_scheme: bool
    bad_punycode: bool = False
    is_ip: bool = False


def deobfuscate(text: str) -> str:
    """Undo the usual ways of hiding a link: ``hxxp``, ``[.]``, ``(.)``, spaced and full-width dots."""
    out = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).translate(_ODD_DOTS)
    out = _BRACKETED_DOT.sub(".", out)
    out = _BRACKETED_COLON.sub(":", out)
    out = _HXXP.sub(lambda m: f"http{m.group(1)}://", out)
    out = _SPACED_SCHEME.sub(lambda m: f"{m.group(1) or m.group(2)}://", out)
    return _SPACED_DOMAIN.sub(lambda m: re.sub(r"\s+", "", m.group(0)), out)


def skeleton(host: str) -> str:
    """The host with accents stripped and look-alike letters mapped to the Latin letters they imitate."""
    lowered = host.lower().translate(_HOMOGLYPHS)
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", lowered) if not unicodedata.combining(ch))
    return stripped.translate(_HOMOGLYPHS)


def _decode_host(host: str) -> tuple[str, str, bool]:
    """(ASCII form, Unicode form, punycode was invalid) of a host written either way."""
    ascii_labels: list[str] = []
    unicode_labels: list[str] = []
    bad = False
    for label in host.split(".")[:16]:
        label = label[:MAX_LABEL]
        if label.startswith("xn--"):
            try:
                decoded = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                decoded, bad = label, True
            ascii_labels.append(label)
            unicode_labels.append(decoded)
        elif label.isascii():
            ascii_labels.append(label)
            unicode_labels.append(label)
        else:
            try:
                encoded = "xn--" + label.encode("punycode").decode("ascii")
            except (UnicodeError, ValueError):
                encoded, bad = label, True
            ascii_labels.append(encoded)
            unicode_labels.append(label)
    return ".".join(ascii_labels), ".".join(unicode_labels), bad


def _make_link(raw: str, host: str, path: str, has_scheme: bool, *, is_ip: bool = False) -> Link:
    host = host.lower().rstrip(".")[:MAX_HOST]
    if host.startswith("www."):
        host = host[4:]
    if is_ip:
        return Link(raw, host, host, host, path, has_scheme, is_ip=True)
    ascii_host, unicode_host, bad = _decode_host(host)
    return Link(raw, ascii_host, unicode_host, skeleton(unicode_host), path, has_scheme, bad)


def extract_links(text: str, limit: int = MAX_LINKS) -> tuple[list[Link], int]:
    """The first ``limit`` links of already de-obfuscated ``text``, and how many there are in all."""
    links: list[Link] = []
    total = 0
    taken: list[tuple[int, int]] = []
    for m in _IP_URL.finditer(text):
        total += 1
        taken.append(m.span())
        if len(links) < limit:
            raw = m.group(0)
            links.append(_make_link(raw, m.group("host"), m.group("path") or "", "://" in raw, is_ip=True))
    for m in URL_PATTERN.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        host = m.group("host")
        tld = host.rsplit(".", 1)[-1].lower()
        if not m.group("scheme") and tld not in BARE_TLDS and not tld.startswith("xn--"):
            continue
        total += 1
        if len(links) < limit:
            links.append(_make_link(m.group(0), host, m.group("path") or "", bool(m.group("scheme"))))
    return links, total


# Second-level suffixes under which a name is registered (vneid.gov.vn → "vneid"; abc.com.vn → "abc").
_SUFFIXES = frozenset(
    words("gov.vn com.vn net.vn org.vn edu.vn ac.vn info.vn biz.vn name.vn pro.vn health.vn int.vn co.uk com.cn")
)


def registrable(host: str) -> str:
    """The registered domain of ``host``: ``a.b.dichvucong.gov.vn`` → ``dichvucong.gov.vn``."""
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def domain_name(host: str) -> str:
    """The name part of the registered domain: ``dichvucong.gov.vn`` → ``dichvucong``."""
    return registrable(host).split(".", 1)[0]
