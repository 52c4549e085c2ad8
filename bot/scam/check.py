"""Judge one message: named signals from its links and its wording, and a level from their weights.

Rules are written from the warnings police, banks and the national cyber-security centre published in
2024–2026 (fake VNeID and public-service links, APK "apps", OTP requests, "safe account" transfers, fines,
summonses, refunds, prizes, "we recover lost money" offers). Wording rules run on accent-folded text, so
messages typed without diacritics are read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz.distance import Levenshtein

from bot.scam.config import DEFAULT_CONFIG, RISKY_TLDS, ScamConfig
from bot.scam.links import Link, deobfuscate, domain_name, extract_links, registrable
from bot.scam.text import fold

MAX_CHARS = 20_000  # longer input is judged on its start: a real SMS or chat message is far shorter


class Level(StrEnum):
    """How the reply rates a message (never "safe": only "no sign found")."""

    DANGER = "danger"
    SUSPICIOUS = "suspicious"
    NONE = "none"


STRONG = 3  # one such signal makes a message dangerous
DANGER_SCORE = 5
SUSPICIOUS_SCORE = 2


@dataclass(frozen=True)
class Signal:
    """One sign found: a stable ``code``, its weight, and a short detail (a domain, an authority; never the text)."""

    code: str
    weight: int
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """What the checker found in one message."""

    level: Level
    signals: tuple[Signal, ...]
    links: tuple[Link, ...]
    link_count: int
    score: int

    @property
    def codes(self) -> list[str]:
        """The signal codes, strongest first."""
        return [s.code for s in self.signals]


# --- wording rules (accent-folded text) -----------------------------------------------------------------------

# A negation earlier in the same clause turns a request into advice: "KHÔNG cung cấp mã OTP cho bất kỳ ai",
# "ngân hàng không bao giờ yêu cầu cung cấp OTP".
_NEGATION = re.compile(r"\b(khong|ko|dung|chua|chang|never|not|don't|nghiem cam|tranh|canh giac|tuyet doi khong)\b")
# For what a message describes (a threat, a deadline, a prize), "tránh bị cắt điện" is still the threat.
_NEGATION_OF_FACT = re.compile(r"\b(khong|ko|chua|chang|never|not)\b")
_CLAUSE_END = re.compile(r"[.!?;:,\n]|\bthi\b")  # "không đến thì nộp tiền": a condition, not advice
_CLAUSE_WINDOW = 80  # characters before a match searched for the start of its clause

_SECRET = (
    r"(ma otp|otp|ma xac (?:thuc|nhan|minh)|ma (?:giao dich|bao mat|kich hoat)|mat khau|mat ma|password|passcode|"
    r"ma pin|pin|so the|so tai khoan va mat khau|3 so (?:o )?(?:mat )?sau|ba so (?:o )?(?:mat )?sau|cvv|cvc|"
    r"thong tin (?:the|dang nhap|tai khoan ngan hang)|ten dang nhap|ma (?:gom |co )?\d+ (?:chu )?so|"
    r"ma vua (?:gui|nhan|den)|ma gui ve|ma ve (?:may|so|dien thoai))"
)
_SHARE_SECRET = re.compile(
    rf"\b(cung cap|gui(?: lai| cho| qua)?|doc(?: lai| cho)?|cho (?:\w+ )?biet|cho (?:\w+ )?xin|bao lai|"
    rf"nhan(?: tin)? lai|chuyen tiep|chup(?: man hinh)?|xac nhan|khai bao)\b(?:\W+\w+){{0,6}}?\W+{_SECRET}\b"
)
# The code first, the request after: "mã 6 số vừa gửi tới máy bạn, bạn gửi lại giúp mình".
_SECRET_THEN_SHARE = re.compile(
    rf"\b{_SECRET}\b(?:\W+\w+){{0,12}}?\W+(gui lai|doc lai|doc giup|gui giup|doc cho|"
    r"gui (?:minh|em|toi|chau|anh|chi|cho minh|cho em|cho toi))\b"
)
_ENTER_SECRET = re.compile(rf"\b(nhap|dien|dang nhap|cap nhat|xac thuc)\b(?:\W+\w+){{0,4}}?\W+{_SECRET}\b")

_INSTALL = re.compile(
    r"\b(?:tai|cai(?: dat)?|download|cap nhat|update)(?: ve| lai| ban moi)?(?: \w+)?"
    r" (?:ung dung|app|phan mem|file|ban cai)\b|\bapk\b|\b(?:anydesk|teamviewer|ultraviewer|rustdesk)\b|"
    r"\bcho phep (?:quyen )?tro nang\b|\bbat tro nang\b"
)
_STORES = re.compile(r"\b(ch play|app store|appstore|google play|play store|kho ung dung)\b")

_URGENCY = re.compile(
    r"\b(bi khoa|tam khoa|se khoa|khoa (?:vinh vien|tai khoan|sim|2 chieu|hai chieu|the)|dinh chi|vo hieu hoa|"
    r"ngung (?:hoat dong|cung cap)|truoc \d{1,2} ?(?:h|gio)\b|trong (?:vong )?\d{1,3} ?(?:gio|h|phut|ngay)\b|"
    r"ngay lap tuc|khan cap|khan\b|lan cuoi|han cuoi|sap bi|se bi (?:cat|thu hoi|xu ly|khoa|phat|huy)|"
    r"cat (?:dien|nuoc|song)|thu hoi (?:sim|so|tai khoan))"
)
_THREAT = re.compile(
    r"\b(phat nguoi|nop phat|bi phat|xu phat|bien ban vi pham|bat giu|tam giam|lenh bat|truy na|khoi to|"
    r"trieu tap|rua tien|duong day (?:ma tuy|rua tien|lua dao|buon)|dieu tra|vi pham phap luat|"
    r"truy cuu trach nhiem|cuong che|no (?:cuoc|tien dien|tien nuoc|thue|xau)|xu ly hinh su|khoi kien|bi kien|"
    r"truy thu)"
)
_LURE = re.compile(
    r"\b(trung thuong|trung giai|quay thuong|giai thuong|qua tang|qua tri an|tri an khach hang|hoan tien|"
    r"hoan thue|hoan phi|tro cap|ho tro (?:tien|kinh phi|\d)|nhan (?:tien|qua|thuong|ho tro)|tien thuong|"
    r"loi nhuan|hoa hong|"
    r"viec nhe luong cao|lam viec tai nha|cong tac vien|\bctv\b|giai ngan|vay (?:nhanh|online|tien nhanh)|"
    r"khong can the chap|nang han muc|nang hang the|mien phi 100|tang luong huu|qua tet|duoc chon nhan|"
    r"(?:khach hang|nguoi) may man)"
)
_RECOVERY = re.compile(
    r"\b(lay lai (?:tien|so tien|tai san)|(?:thu|truy) hoi (?:lai )?(?:tien|so tien|tai san)|ho tro nan nhan|"
    r"(?:da |tung )?bi lua\b.{0,60}\b(?:ho tro|lay lai|thu hoi))"
)
_MONEY = re.compile(r"\b(chuyen (?:khoan|tien|tra|phi)|nop (?:tien|phi|le phi)|dong (?:phi|tien)|thanh toan)")
# Asked for money whatever the wording around: transfer first, deposits, fees before a service, amounts.
_MONEY_ALWAYS = re.compile(
    r"\b(chuyen (?:khoan |tien )?truoc|chuyen coc|dat coc|coc truoc|chuyen gap|chuyen tam|"
    r"phi (?:ho so|van chuyen|giai ngan|thu tuc|kich hoat|xac minh|mo khoa|xu ly|thong quan|luu kho|bao lanh)|"
    r"le phi nhan|ky quy|tien (?:dam bao|ky quy|bao lanh)|phi nhan (?:hang|qua|thuong|giai)|"
    r"phi bao hiem (?:hang hoa|khoan vay|don hang)|"
    r"(?:chuyen|gui)(?: \w+){0,4} \d+ ?(?:trieu|tr|nghin|ngan|k)\b)"
)
_PERSONAL_ACCOUNT = re.compile(
    r"\b(?:tai khoan|stk|tk|so tai khoan) (?:ca nhan|rieng|(?:cua )?(?:can bo|nhan vien|thay|co|ke toan|ban))\b"
)
_EMERGENCY = re.compile(
    r"\b(cap cuu|tai nan|mo gap|nhap vien|vao vien|dang bi giu|bi bat|bao lanh|can gap|dang gap|gap lam|gap qua)\b"
)
_WRONG_TRANSFER = re.compile(
    r"\bchuyen nham\b.{0,120}\b(?:(?:tai khoan|stk|so tai khoan|so tk) (?:khac|nay|moi)|tai khoan cu)"
)
_MONEY_CUE = re.compile(
    r"\b(vui long|hay|yeu cau|de nghi|can|phai|buoc|moi|xin|nho|de nhan|huong dan)\W+(?:\w+\W+){0,3}$"
)
# "… nộp phí 500k để nhận", "… mới được giải ngân": paying first to receive something.
_TO_RECEIVE = re.compile(r"\W*(?:\w+\W+){0,3}(?:de|moi) (?:nhan|duoc|lay)\b")
_TO_ACCOUNT = re.compile(r"\W*(?:\w+\W+){0,3}(?:vao|toi|den|qua) (?:so )?(?:tai khoan|stk|so nay)")
_SAFE_ACCOUNT = re.compile(
    r"\b(tai khoan (?:an toan|tam giu|tam thoi cua|cua co quan|chuyen dung|giam sat)|"
    r"chuyen (?:het|toan bo|khoan) (?:tien|so tien|tai san|so du)|"
    r"(?:chung minh|xac minh) (?:nguon tien|trong sach|tai san)|"
    r"kiem tra (?:nguon )?tien (?:sach|ban)|phong toa tai khoan)"
)
_LINK_ACTION = re.compile(
    r"\b(truy cap|bam vao|nhan vao|nhap vao|click|an vao|vao link|vao duong (?:link|dan)|theo (?:duong )?link|"
    r"tai link|link sau|link duoi|duong link|duong dan)\b"
)
# Moving the conversation to a chat app: state bodies and banks do not work over Zalo or Telegram.
_MOVE_TO_CHAT = re.compile(
    r"\b(ket ban zalo|add zalo|nhan zalo|lien he (?:qua )?(?:zalo|telegram)|qua zalo|nhom (?:zalo|telegram)|"
    r"telegram @\w+)"
)
_AUTHORITIES: tuple[tuple[str, re.Pattern[str], bool], ...] = (  # (kind, pattern, is a state body)
    ("police", re.compile(r"\b(cong an|canh sat|csgt|bo cong an|c03|an ninh mang|ca phuong|ca xa)\b"), True),
    ("court", re.compile(r"\b(toa an|tand|vien kiem sat|vks|thi hanh an)\b"), True),
    ("customs", re.compile(r"\b(hai quan|thong quan)\b"), True),
    ("insurance", re.compile(r"\b(bhxh|bao hiem xa hoi|bhyt|vssid)\b"), True),
    ("tax", re.compile(r"\b(co quan thue|cuc thue|chi cuc thue|tong cuc thue|thue dien tu|hoan thue)\b"), True),
    (
        "government",
        re.compile(r"\b(dich vu cong|vneid|ubnd|dinh danh dien tu|de an 06|bo tai chinh|chinh phu|so tu phap)\b"),
        True,
    ),
    ("electricity", re.compile(r"\b(dien luc|evn|tien dien|cat dien)\b"), False),
    (
        "bank",
        re.compile(
            r"\b(ngan hang|vietcombank|vcb|bidv|agribank|vietinbank|techcombank|mbbank|mb bank|vpbank|sacombank|"
            r"tpbank|acb|hdbank|the tin dung|tai khoan ngan hang)\b"
        ),
        False,
    ),
    ("carrier", re.compile(r"\b(nha mang|viettel|vinaphone|mobifone|thue bao)\b"), False),
)


def _negated(folded: str, start: int, negation: re.Pattern[str] = _NEGATION) -> bool:
    before = folded[max(0, start - _CLAUSE_WINDOW) : start]
    clause = _CLAUSE_END.split(before)[-1]
    return bool(negation.search(clause))


def _first_unnegated(
    pattern: re.Pattern[str], folded: str, group: int = 0, negation: re.Pattern[str] = _NEGATION
) -> re.Match[str] | None:
    """The first match whose clause (before ``group``, the request verb) holds no negation."""
    for m in pattern.finditer(folded):
        if not _negated(folded, m.start(group), negation):
            return m
    return None


def _money_request(folded: str, unofficial_link: bool) -> bool:
    if _first_unnegated(_MONEY_ALWAYS, folded):
        return True
    for m in _MONEY.finditer(folded):
        if unofficial_link and not _negated(folded, m.start()):
            return True  # paying on a page nobody can vouch for
        before = folded[max(0, m.start() - 40) : m.start()]
        after = folded[m.end() : m.end() + 40]
        if _negated(folded, m.start()):
            continue
        if _MONEY_CUE.search(before) or _TO_ACCOUNT.match(after) or _TO_RECEIVE.match(after):
            return True
    return False


# --- links ---------------------------------------------------------------------------------------------------


_FOREIGN_GOV = re.compile(r"(?:^|\.)gov(?:\.(?!vn$)[a-z]{2})?$")


def _is_official(host: str, config: ScamConfig) -> bool:
    return any(host == d or host.endswith("." + d) for d in config.official_domains)


def _lookalike_of(link: Link, config: ScamConfig) -> str | None:
    """The official domain or brand this host imitates, if it does."""
    skel = link.skeleton
    tokens = re.split(r"[.\-_]", skel)
    foreign_gov = bool(_FOREIGN_GOV.search(link.host))  # usa.gov, gov.uk: real governments, not a trick
    if not foreign_gov and ("gov" in tokens or any(t.startswith("gov") and t.endswith("vn") for t in tokens)):
        return "gov.vn"
    for brand in config.brands | config.official_names:
        for token in tokens:
            if token == brand or (len(brand) >= 5 and (token.startswith(brand) or token.endswith(brand))):
                return brand
    name = domain_name(skel)
    whole = registrable(skel)
    for official in config.official_domains:
        if official == "gov.vn":
            continue
        if whole == official and skel != link.host:
            return official  # only look-alike letters differ
        limit = 1 if len(official) < 10 else 2
        if 0 < Levenshtein.distance(whole, official, score_cutoff=limit + 1) <= limit:
            return official
    for official_name in config.official_names:
        if name == official_name and skel != link.host:
            return official_name
        if len(name) >= 5:
            limit = 1 if len(official_name) < 8 else 2
            if 0 < Levenshtein.distance(name, official_name, score_cutoff=limit + 1) <= limit:
                return official_name
    return None


def _link_signals(links: list[Link], config: ScamConfig) -> tuple[list[Signal], list[Link]]:
    """Signals of each link, and the links that are not on an official domain."""
    signals: list[Signal] = []
    unofficial: list[Link] = []
    for link in links:
        host = link.host
        if link.is_ip:
            signals.append(Signal("link_ip", 2, host))
            unofficial.append(link)
            continue
        if host in config.block_list or registrable(host) in config.block_list:
            signals.append(Signal("link_blocked", STRONG, link.display))
        if re.search(r"\.apk(?:$|[?#/&])", link.path.lower()):
            signals.append(Signal("link_apk", STRONG, link.display))
        if _is_official(host, config):
            if link.display != host:  # an official name written with look-alike letters cannot be official
                signals.append(Signal("link_homoglyph", STRONG, link.display))
            continue
        unofficial.append(link)
        if link.bad_punycode:
            signals.append(Signal("link_bad_punycode", 2, host))
        exempt = host in config.lookalike_exceptions or registrable(host) in config.lookalike_exceptions
        target = None if exempt else _lookalike_of(link, config)
        if target is not None:
            code = "link_homoglyph" if link.display != host or link.skeleton != link.display else "link_lookalike"
            signals.append(Signal(code, STRONG, f"{link.display} ~ {target}"))
        elif link.display != host or not link.display.isascii():
            signals.append(Signal("link_idn", 2, link.display))
        if host in config.shorteners or registrable(host) in config.shorteners:
            signals.append(Signal("link_shortener", 2, host))
        elif host.rsplit(".", 1)[-1] in RISKY_TLDS:
            signals.append(Signal("link_risky_tld", 1, host))
    return signals, unofficial


# --- the verdict ---------------------------------------------------------------------------------------------


def authorities(folded: str) -> list[tuple[str, bool]]:
    """The authorities a message speaks as or about: (kind, is a state body)."""
    return [(kind, state) for kind, pattern, state in _AUTHORITIES if pattern.search(folded)]


def analyze(text: str, config: ScamConfig = DEFAULT_CONFIG) -> Verdict:
    """Check one message; pure and fast (no I/O), safe on any input."""
    clean = deobfuscate(text[:MAX_CHARS])
    links, link_count = extract_links(clean)
    folded = fold(clean)
    signals, unofficial = _link_signals(links, config)
    if unofficial:
        signals.append(Signal("link_unknown", 1, unofficial[0].display))
        if _LINK_ACTION.search(folded):
            signals.append(Signal("link_action", 1))
    if (
        _first_unnegated(_SHARE_SECRET, folded)
        or _first_unnegated(_SECRET_THEN_SHARE, folded, group=2)
        or (unofficial and _first_unnegated(_ENTER_SECRET, folded))
    ):
        signals.append(Signal("asks_secret", STRONG))
    apk = any(s.code == "link_apk" for s in signals)
    if (m := _first_unnegated(_INSTALL, folded)) and not (_STORES.search(folded) and not unofficial and not apk):
        signals.append(Signal("install_app", STRONG if unofficial or "apk" in m.group(0) else 2))
    if _first_unnegated(_SAFE_ACCOUNT, folded):
        signals.append(Signal("safe_account", STRONG))
    if _first_unnegated(_RECOVERY, folded, negation=_NEGATION_OF_FACT):
        signals.append(Signal("recovery_offer", STRONG))
    if _first_unnegated(_THREAT, folded, negation=_NEGATION_OF_FACT):
        signals.append(Signal("threat", 2))
    if _first_unnegated(_URGENCY, folded, negation=_NEGATION_OF_FACT):
        signals.append(Signal("urgency", 1))
    if _first_unnegated(_LURE, folded, negation=_NEGATION_OF_FACT):
        signals.append(Signal("lure", 2))
    if _first_unnegated(_WRONG_TRANSFER, folded):
        signals.append(Signal("wrong_transfer", STRONG))
    if _first_unnegated(_EMERGENCY, folded, negation=_NEGATION_OF_FACT):
        signals.append(Signal("emergency", 2))
    if _first_unnegated(_PERSONAL_ACCOUNT, folded):
        signals.append(Signal("personal_account", 2))
    if _money_request(folded, bool(unofficial)):
        signals.append(Signal("money_request", 2))
        if any(s.code == "lure" for s in signals):  # "you won / are owed money, pay a fee first"
            signals.append(Signal("fee_to_receive", STRONG))
    if _first_unnegated(_MOVE_TO_CHAT, folded):
        signals.append(Signal("move_to_chat", 1))
    found = authorities(folded)
    if found:
        signals.append(Signal("impersonation", 1, ",".join(kind for kind, _ in found)))
        if unofficial and any(state for _, state in found):
            signals.append(Signal("gov_link_not_official", STRONG, unofficial[0].display))
    signals = _dedupe(signals)
    score = sum(s.weight for s in signals)
    if any(s.weight >= STRONG for s in signals) or score >= DANGER_SCORE:
        level = Level.DANGER
    elif score >= SUSPICIOUS_SCORE:
        level = Level.SUSPICIOUS
    else:
        level = Level.NONE
    return Verdict(level, tuple(signals), tuple(links), link_count, score)


def _dedupe(signals: list[Signal]) -> list[Signal]:
    """One signal per code (the first, which carries the first link's detail), strongest first."""
    seen: dict[str, Signal] = {}
    for signal in signals:
        seen.setdefault(signal.code, signal)
    return sorted(seen.values(), key=lambda s: -s.weight)
