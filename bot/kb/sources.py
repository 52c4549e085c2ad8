"""Which sources count as official: an entry's ``source`` is what citizens read as "Nguồn: …"."""

from __future__ import annotations

from urllib.parse import urlsplit

# Official sites outside *.gov.vn: the Government portal, the national legal-text database, the state power
# utility and the interbank network, whose own rules an answer may cite.
OFFICIAL_HOSTS = ("chinhphu.vn", "vbpl.vn", "evn.com.vn", "napas.com.vn")


def is_official_host(host: str) -> bool:
    """True for a state body's site (``*.gov.vn``) or one of the few official sites outside it."""
    host = host.lower().removeprefix("www.")
    return host.endswith(".gov.vn") or any(host == h or host.endswith(f".{h}") for h in OFFICIAL_HOSTS)


def is_official_source(url: str) -> bool:
    """True for an https page of an official site."""
    parts = urlsplit(url)
    return parts.scheme == "https" and is_official_host(parts.hostname or "")


def source_problem(entry_id: str, source: str) -> str | None:
    """What is wrong with an entry's ``source`` (a ``kb check`` warning), or None: an official page over https,
    more specific than a home page."""
    parts = urlsplit(source)
    if parts.scheme != "https":
        return (
            f'nguồn của mục "{entry_id}" không dùng https ({source}): hãy dẫn địa chỉ https của trang '
            "[source not https]"
        )
    if not is_official_host(parts.hostname or ""):
        return (
            f'nguồn của mục "{entry_id}" ({parts.hostname}) không phải trang của cơ quan nhà nước: hãy dẫn '
            "trang chính thức; nếu không có, ghi rõ trong câu trả lời thông tin lấy từ đâu [source not official]"
        )
    if parts.path.strip("/") == "" and not parts.query:
        return (
            f'nguồn của mục "{entry_id}" chỉ là trang chủ ({source}): hãy dẫn trang cụ thể nói về việc này '
            "[source is a home page]"
        )
    return None
