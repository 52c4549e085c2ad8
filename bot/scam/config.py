"""What the checker trusts and distrusts: official domains, brand words, look-alike exceptions, a block list.

Built-in lists cover the national services, banks, e-wallets, carriers and delivery firms citizens meet; a
ward adds its own in ``_scam.yaml`` (read with ``file:line`` problems like every knowledge file, so
``kb check``, start-up and ``/reload`` validate it). Nothing is fetched from the internet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.kb.problems import Problem
from bot.kb.yaml_lines import LineDict, LineList, load_with_lines
from bot.scam.links import words

CONFIG_NAME = "_scam"
DEFAULT_CATEGORY = "lua-dao"

OFFICIAL_DOMAINS = words(
    """
    gov.vn chinhphu.vn dichvucong.gov.vn vneid.gov.vn bocongan.gov.vn baohiemxahoi.gov.vn gdt.gov.vn csgt.vn
    mic.gov.vn mps.gov.vn moj.gov.vn khonggianmang.vn tinnhiemmang.vn congan.com.vn cand.com.vn
    evn.com.vn evnhanoi.vn evnhcmc.vn evnspc.vn evncpc.vn evnnpc.vn
    vietcombank.com.vn bidv.com.vn agribank.com.vn vietinbank.vn techcombank.com techcombank.com.vn
    mbbank.com.vn acb.com.vn vpbank.com.vn tpb.vn sacombank.com.vn hdbank.com.vn vib.com.vn shb.com.vn
    ocb.com.vn msb.com.vn seabank.com.vn lpbank.com.vn eximbank.com.vn napas.com.vn sbv.gov.vn
    ncb-bank.vn pvcombank.com.vn baovietbank.vn kienlongbank.com namabank.com.vn abbank.vn bacabank.com.vn
    vietabank.com.vn scb.com.vn oceanbank.vn cbbank.vn gpbank.com.vn saigonbank.com.vn pgbank.com.vn
    vietbank.com.vn bvbank.net.vn vikki.vn cake.vn timo.vn
    momo.vn zalopay.vn vnpay.vn viettelmoney.vn shopeepay.vn vnptmoney.vn
    viettel.vn vietteltelecom.vn vinaphone.com.vn vnpt.vn mobifone.vn
    shopee.vn lazada.vn tiki.vn ghn.vn ghtk.vn vnpost.vn viettelpost.com.vn jtexpress.vn
    zalo.me zalo.vn facebook.com fb.com youtube.com google.com apple.com tiktok.com
    """
)
# Words that name an authority or a brand; in a domain that is not its own they are a token trick.
BRANDS = words(
    """
    dichvucong vneid bocongan congan baohiemxahoi bhxh vssid csgt evn dienluc thuedientu
    vietcombank vcb bidv agribank vietinbank techcombank mbbank vpbank sacombank tpbank hdbank
    momo zalopay vnpay viettel vinaphone mobifone vnpost shopee lazada ghn ghtk viettelpost
    msb acb shb vib ocb scb ncb tpb hdb seabank eximbank lpbank
    """
)
SHORTENERS = words(
    """
    bit.ly bitly.com tinyurl.com t.ly cutt.ly shorturl.at rb.gy is.gd v.gd goo.gl tiny.cc s.id t.co ow.ly
    buff.ly rebrand.ly bom.so shorten.asia tinyurl.vn u.to clck.ru qrco.de linktr.ee
    """
)
# Cheap top-level domains most often seen in phishing campaigns.
RISKY_TLDS = frozenset(
    words("xyz top icu cc vip club click buzz site online shop live link cyou sbs lol bond win bet tk ml ga cf gq")
)

_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59})$")
_KEYS = {"official_domains", "brands", "lookalike_exceptions", "shorteners", "block_list", "entry_category"}


@dataclass(frozen=True)
class ScamConfig:
    """The checker's lists; ``official_domains`` also covers every sub-domain of each entry."""

    official_domains: frozenset[str] = frozenset(OFFICIAL_DOMAINS)
    brands: frozenset[str] = frozenset(BRANDS)
    lookalike_exceptions: frozenset[str] = frozenset()
    shorteners: frozenset[str] = frozenset(SHORTENERS)
    block_list: frozenset[str] = frozenset()
    entry_category: str = DEFAULT_CATEGORY
    official_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {d.split(".", 1)[0] for d in self.official_domains if d.count(".") >= 1 and d != "gov.vn"}
        object.__setattr__(self, "official_names", frozenset(n for n in names if len(n) >= 5))


DEFAULT_CONFIG = ScamConfig()


def _clean_domain(value: str) -> str:
    value = value.strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    value = value.split("/", 1)[0].rstrip(".")
    return value.removeprefix("www.")


def read_config(data: LineDict, display: str) -> tuple[ScamConfig, list[Problem]]:
    """Validate a parsed ``_scam.yaml``: lists add to the built-in ones; problems carry ``file:line``."""
    problems: list[Problem] = []
    for key in data:
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            problems.append(Problem(display, data.key_lines.get(key, 1), f'khóa "{key}" không hợp lệ; có: {known}'))
    lists: dict[str, set[str]] = {}
    for key in ("official_domains", "brands", "lookalike_exceptions", "shorteners", "block_list"):
        value = data.get(key)
        lists[key] = set()
        if value is None:
            continue
        if not isinstance(value, LineList):
            problems.append(Problem(display, data.key_lines[key], f'"{key}" phải là một danh sách [must be a list]'))
            continue
        for item, line in zip(value, value.item_lines, strict=True):
            if not isinstance(item, str) or not item.strip():
                problems.append(Problem(display, line, f'mỗi dòng của "{key}" phải là chữ [must be text]'))
                continue
            if key == "brands":
                word = item.strip().lower()
                if not re.fullmatch(r"[a-z0-9]{3,30}", word):
                    message = f'"{item}": từ khóa chỉ gồm chữ không dấu và số, 3–30 ký tự'
                    problems.append(Problem(display, line, message))
                    continue
                lists[key].add(word)
                continue
            domain = _clean_domain(item)
            if not _DOMAIN.match(domain):
                problems.append(Problem(display, line, f'"{item}" không phải tên miền hợp lệ, ví dụ: vneid.gov.vn'))
                continue
            lists[key].add(domain)
    category = data.get("entry_category", DEFAULT_CATEGORY)
    if not isinstance(category, str) or not re.fullmatch(r"[a-z0-9-]+", category):
        problems.append(Problem(display, data.key_lines.get("entry_category", 1), '"entry_category" là mã chủ đề'))
        category = DEFAULT_CATEGORY
    config = ScamConfig(
        official_domains=frozenset(OFFICIAL_DOMAINS) | lists["official_domains"],
        brands=frozenset(BRANDS) | lists["brands"],
        lookalike_exceptions=frozenset(lists["lookalike_exceptions"]),
        shorteners=frozenset(SHORTENERS) | lists["shorteners"],
        block_list=frozenset(lists["block_list"]),
        entry_category=category,
    )
    return config, problems


def load_config_file(folder: Path) -> tuple[ScamConfig, list[Problem]]:
    """Read ``_scam.yaml`` from a knowledge folder (or beside a knowledge file); defaults when it is absent."""
    folder = folder if folder.is_dir() else folder.parent
    path = next((p for p in (folder / f"{CONFIG_NAME}.yaml", folder / f"{CONFIG_NAME}.yml") if p.exists()), None)
    if path is None:
        return DEFAULT_CONFIG, []
    try:
        data = load_with_lines(path.read_text(encoding="utf-8"))
    except Exception as exc:  # a YAML syntax error: report it like the loader does, keep the defaults
        return DEFAULT_CONFIG, [Problem(str(path), 1, f"không đọc được tệp: {exc}")]
    if data is None:
        return DEFAULT_CONFIG, []
    if not isinstance(data, LineDict):
        return DEFAULT_CONFIG, [Problem(str(path), 1, "tệp cấu hình phải gồm các dòng khóa: giá trị")]
    return read_config(data, str(path))


def _register() -> None:
    from bot.kb.loader import ConfigContext, register_config_file

    def reader(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
        config, problems = read_config(data, display)
        ctx.extra[CONFIG_NAME] = config
        return problems

    register_config_file(CONFIG_NAME, reader)


_register()
