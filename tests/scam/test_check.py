"""Wording signals, negation, levels, masking, and hostile input that must not crash or hang."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.scam.check import Level, analyze
from bot.scam.links import MAX_LINKS
from bot.scam.text import fold, mask


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Anh đọc giúp em mã OTP vừa gửi về máy nhé", "asks_secret"),
        ("vui long cung cap so the va ma CVV de xac minh", "asks_secret"),
        ("có mã gồm 6 số vừa gửi tới máy bạn, bạn gửi lại giúp mình nhé", "asks_secret"),
        ("Cài ứng dụng theo link em gửi rồi bật trợ năng", "install_app"),
        ("Tài khoản của bạn sẽ bị khóa trong vòng 24 giờ", "urgency"),
        ("Bạn có giấy triệu tập của tòa án vì liên quan rửa tiền", "threat"),
        ("Chúc mừng bạn trúng thưởng xe máy", "lure"),
        ("Văn phòng luật sư hỗ trợ lấy lại tiền bị lừa", "recovery_offer"),
        ("Chuyển toàn bộ tiền vào tài khoản an toàn để xác minh", "safe_account"),
        ("Trúng thưởng iPhone, vui lòng chuyển khoản phí vận chuyển 500k", "fee_to_receive"),
        ("Công an thông báo bạn liên quan vụ án", "impersonation"),
        ("Nộp học phí qua tài khoản cá nhân của thầy kế toán", "personal_account"),
        ("Con bị tai nạn đang cấp cứu, mẹ chuyển gấp 15 triệu", "emergency"),
        ("em chuyển nhầm 5 triệu, chị chuyển trả vào số tài khoản khác này nhé", "wrong_transfer"),
    ],
)
def test_wording_signals(text: str, code: str) -> None:
    assert code in analyze(text).codes
    assert code in analyze(fold(text)).codes  # typed without diacritics: the same signal


@pytest.mark.parametrize(
    "text",
    [
        "123456 la ma OTP cua Quy khach. Tuyet doi KHONG cung cap ma OTP cho bat ky ai.",
        "Ngân hàng không bao giờ yêu cầu khách hàng cung cấp mã OTP.",
        "Con nhắc bố: mã OTP gửi về điện thoại thì không đọc cho ai nhé.",
        "Công an không bao giờ yêu cầu người dân cài ứng dụng qua link hay cung cấp mật khẩu.",
    ],
)
def test_advice_against_sharing_is_not_a_request(text: str) -> None:
    verdict = analyze(text)
    assert "asks_secret" not in verdict.codes
    assert verdict.level is not Level.DANGER


def test_levels() -> None:
    assert analyze("Tối nay cả nhà qua bà ăn cơm nhé").level is Level.NONE
    assert analyze("Tối nay cả nhà qua bà ăn cơm nhé").signals == ()
    assert analyze("Chúc mừng bạn trúng thưởng, lịch nhận quà sẽ báo sau").level is Level.SUSPICIOUS
    assert analyze("Công an yêu cầu chuyển tiền vào tài khoản an toàn").level is Level.DANGER
    # a genuine balance notice names a bank and nothing else
    assert analyze("VCB: TK 1019xxx226 -500,000VND. So du 12,340,500VND").level is Level.NONE


def test_signals_carry_no_message_text() -> None:
    verdict = analyze("Ma OTP cua ban 482913, gui lai cho minh ma 482913 nhe. Link: bit.ly/abc")
    assert all("482913" not in s.detail for s in verdict.signals)


def test_mask_hides_codes_and_numbers() -> None:
    masked = mask("OTP 482913, the 4111 1111 1111 1234, STK 0123456789, goi 0912345678, a.b@gmail.com https://x.vn/a?t=SECRET")
    assert "482913" not in masked and "******" in masked
    assert "4111" not in masked and masked.count("34") >= 1
    assert "0123456789" not in masked and "0912345678" not in masked
    assert "a.b@" not in masked and "@gmail.com" in masked
    assert "SECRET" not in masked and "https://x.vn/a" in masked


# --- hostile input ---------------------------------------------------------------------------------------------


def test_ten_thousand_links() -> None:
    text = " ".join(f"https://site{i}.xyz/p" for i in range(10_000))
    verdict = analyze(text)
    assert verdict.link_count > MAX_LINKS  # counted (in the first MAX_CHARS), though only the first ones are examined
    assert len(verdict.links) == MAX_LINKS
    assert verdict.level is not Level.NONE


def test_very_long_urls_and_labels() -> None:
    long_path = "https://vneid.gov.vn.xyz/" + "a" * 200_000
    assert analyze(long_path).level is Level.DANGER
    long_host = "https://" + "a" * 5_000 + ".com"
    analyze(long_host)
    many_labels = "https://" + ".".join(["ab"] * 3_000) + ".com/x"
    analyze(many_labels)
    dots = "." * 50_000 + "vn"
    analyze(dots)


@pytest.mark.parametrize(
    "link",
    [
        "https://xn--.com",
        "https://xn--zz-.vn",
        "https://xn--a-ecp.xn--9999999999.com",
        "http://xn--ls8h.xn--",
        "xn--abc--.vn",
    ],
)
def test_invalid_punycode_does_not_crash(link: str) -> None:
    verdict = analyze(f"vào {link} ngay")
    assert verdict.level in set(Level)


def test_random_bytes_do_not_crash() -> None:
    rng = random.Random(16)
    for _ in range(200):
        text = "".join(chr(rng.randrange(0, 0x2FFFF)) for _ in range(rng.randrange(0, 400)))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
        analyze(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab.-:/[]() xn-0123hxtpsgov vnеο。．")), max_size=300))
def test_link_like_noise_never_crashes(text: str) -> None:
    verdict = analyze(text)
    assert verdict.level in set(Level)


def test_undecodable_punycode_is_a_signal() -> None:
    verdict = analyze("https://xn--9999999999.com/login")
    assert "link_bad_punycode" in verdict.codes
    assert verdict.level is not Level.NONE
