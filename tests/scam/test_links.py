"""Links: every obfuscation trick undone, real domains read, look-alikes of official domains caught."""

from __future__ import annotations

import pytest

from bot.scam.check import analyze
from bot.scam.config import ScamConfig
from bot.scam.links import deobfuscate, extract_links, registrable, skeleton


def hosts(text: str) -> list[str]:
    return [link.host for link in extract_links(deobfuscate(text))[0]]


@pytest.mark.parametrize(
    ("written", "host"),
    [
        ("hxxps://vneid[.]gov[.]vn/login", "vneid.gov.vn"),
        ("hxxp://abc(.)xyz", "abc.xyz"),
        ("bit{.}ly/abc", "bit.ly"),
        ("vietcombank[dot]com[dot]vn", "vietcombank.com.vn"),
        ("dichvucong . gov . vn", "dichvucong.gov.vn"),
        ("dichvucong .gov. vn/tra-cuu", "dichvucong.gov.vn"),
        ("vneid。gov。vn", "vneid.gov.vn"),  # ideographic full stops
        ("vneid．gov．vn", "vneid.gov.vn"),  # full-width full stops
        ("ｖｎｅｉｄ．ｇｏｖ．ｖｎ", "vneid.gov.vn"),  # full-width letters
        ("vne\u200bid.gov.vn", "vneid.gov.vn"),  # zero-width space
        ("https : // evn-hoantien.com", "evn-hoantien.com"),
        ("hxxps[:]//evn-hoantien.com", "evn-hoantien.com"),
        ("WWW.VNEID.GOV.VN", "vneid.gov.vn"),
    ],
)
def test_obfuscated_links_are_read(written: str, host: str) -> None:
    assert hosts(f"Truy cập {written} ngay") == [host]


def test_plain_sentences_and_numbers_are_not_links() -> None:
    for text in ("Xong rồi. Vn là nước mình", "số tiền 1.500.000đ", "TP.HCM", "v.v.", "gửi a@b.com", "ông A.Nguyễn"):
        assert hosts(text) == [], text


def test_punycode_is_decoded_and_homoglyphs_are_mapped() -> None:
    (link,), _ = extract_links("https://xn--vnid-w4d.gov.vn/kich-hoat")
    assert link.display == "vnеid.gov.vn"  # Cyrillic е
    assert link.skeleton == "vneid.gov.vn"
    (typed,), _ = extract_links("https://vnеid.gov.vn")
    assert typed.host == "xn--vnid-w4d.gov.vn"
    assert skeleton("ԁісhvụсông.vn") == "dichvucong.vn"


def test_registrable_domain() -> None:
    assert registrable("a.b.dichvucong.gov.vn") == "dichvucong.gov.vn"
    assert registrable("login.vneid.gov.vn.xyz") == "vn.xyz"
    assert registrable("x.vietcombank.com.vn") == "vietcombank.com.vn"


def codes(text: str, config: ScamConfig | None = None) -> list[str]:
    return analyze(text, config).codes if config else analyze(text).codes


@pytest.mark.parametrize(
    "link",
    [
        "dichvucong-gov.vn",  # token trick: "gov" as a word of an ordinary domain
        "vneid.gov.vn.xyz",  # the official name as a sub-domain of another
        "https://dichvucong.gov.vn-login.app",
        "vietcombank-xacthuc.com",  # a brand word in someone else's domain
        "https://vcb-digibank.xyz",
        "vietc0mbank.com.vn",  # edit distance 1
        "dichvuconq.vn",  # edit distance from the name "dichvucong"
        "https://agribnk.com.vn",
    ],
)
def test_lookalikes_of_official_domains(link: str) -> None:
    verdict = analyze(f"Truy cập {link} để nhận hỗ trợ")
    assert "link_lookalike" in verdict.codes, verdict.codes
    assert verdict.level.value == "danger"


@pytest.mark.parametrize("link", ["https://vnеid.gov.vn", "https://xn--vitcombank-m7a.com", "vіetcombank.com.vn"])
def test_homoglyph_domains(link: str) -> None:
    verdict = analyze(link)
    assert "link_homoglyph" in verdict.codes, verdict.codes
    assert verdict.level.value == "danger"


@pytest.mark.parametrize(
    "link",
    ["https://dichvucong.gov.vn", "vneid.gov.vn", "https://thuedientu.gdt.gov.vn/etax", "vietcombank.com.vn/abc",
     "https://shopee.vn/don-hang", "anbinh.hanoi.gov.vn"],
)  # fmt: skip
def test_official_domains_are_not_flagged(link: str) -> None:
    verdict = analyze(link)
    assert verdict.level.value == "none", verdict.codes
    assert not {"link_lookalike", "link_unknown", "link_homoglyph"} & set(verdict.codes)


def test_shortener_apk_ip_and_risky_tld() -> None:
    assert "link_shortener" in codes("https://bit.ly/3xYz")
    assert analyze("https://bit.ly/3xYz").level.value == "suspicious"
    apk = analyze("tải tại http://abc-app.net/vneid.apk?v=2")
    assert "link_apk" in apk.codes and apk.level.value == "danger"
    assert "link_ip" in codes("http://203.0.113.45/login")
    assert "link_risky_tld" in codes("https://nhanqua.top")


def test_government_message_with_a_link_off_gov_vn() -> None:
    verdict = analyze("UBND phường thông báo nhận trợ cấp tại https://hotro-nguoidan.com")
    assert "gov_link_not_official" in verdict.codes
    assert verdict.level.value == "danger"
    assert "gov_link_not_official" not in analyze("UBND phường thông báo lịch tại https://dichvucong.gov.vn").codes


def test_config_exceptions_block_list_and_added_domains() -> None:
    config = ScamConfig(
        official_domains=frozenset({"vietcombank.com.vn", "anbinh-hanoi.vn"}),
        brands=frozenset({"vietcombank"}),
        lookalike_exceptions=frozenset({"vietcombank-chinhanh.com"}),
        block_list=frozenset({"lua-dao.example"}),
    )
    assert "link_lookalike" not in analyze("https://vietcombank-chinhanh.com", config).codes
    assert "link_lookalike" in analyze("https://vietcombank-khac.com", config).codes
    assert "link_unknown" not in analyze("https://anbinh-hanoi.vn/lich", config).codes
    blocked = analyze("xem tại https://www.lua-dao.example/abc", config)
    assert "link_blocked" in blocked.codes and blocked.level.value == "danger"


def test_foreign_government_domains_are_not_a_gov_trick() -> None:
    for link in ("https://www.gov.uk/visas", "https://travel.state.gov"):
        assert "link_lookalike" not in analyze(link).codes, link
    assert "link_lookalike" in analyze("https://gov.vn.thongbao.com").codes
