"""Table-driven tests of the normalization pipeline."""

from __future__ import annotations

import unicodedata

import pytest

from bot.kb.normalize import clean, fold, normalize, strip_accents


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Làm sao kích hoạt VNeID???", "làm sao kích hoạt vneid"),
        ("hoà bình, thuỷ lợi; Uỷ ban", "hòa bình thủy lợi ủy ban"),  # old → new tone placement
        ("quí khách", "quý khách"),
        ("thuý", "thúy"),
        ("mức\u200b 2\u200d", "mức 2"),  # zero-width characters
        ("xem https://dichvucong.gov.vn/p/home nhé", "xem nhé"),  # URLs
        ("gửi abc@gmail.com", "gửi"),  # e-mail addresses
        ("😀 VNeID 🙏🏻", "vneid"),  # emoji
        ("mức 2, lệ phí 50.000đ", "mức 2 lệ phí 50 000 đ"),  # digits stay
        ("", ""),
        ("   \t\n ", ""),
    ],
)
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_nfd_input_equals_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Định danh điện tử hoà")
    assert clean(nfd) == "định danh điện tử hòa"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Định danh ĐIỆN TỬ", "dinh danh dien tu"),
        ("đường Dương", "duong duong"),  # đ is mapped explicitly
        ("Nguyễn Thị Ấu", "nguyen thi au"),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


def test_strip_accents_keeps_case() -> None:
    assert strip_accents("Đà Nẵng") == "Da Nang"


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        ("ko dc", "không được"),
        ("k đc", "không được"),
        ("hok biet", "không biet"),
        ("cccd", "căn cước"),  # abbreviation, then the synonym group's canonical form
        ("lam cccd", "lam căn cước"),
        ("dvc", "dịch vụ công"),
        ("sdt", "số điện thoại"),
        ("quen mk tk vneid", "quen mật khẩu tài khoản vneid"),
        ("ứng dụng định danh điện tử", "vneid"),
        ("cài app VNeID", "cài đặt vneid"),  # app → ứng dụng; "ứng dụng vneid" → vneid
        ("j z", "gì"),  # "z" (vậy) is a trailing filler
        ("cho em hỏi cách cài vneid ạ", "cách cài đặt vneid"),
        ("cho em hoi cach cai vneid a", "cach cài đặt vneid"),
        ("Ad ơi, cách cài VNeID với", "cách cài đặt vneid"),
    ],
)
def test_normalize_expands_and_drops_fillers(raw: str, tokens: str) -> None:
    assert normalize(raw).text == tokens


def test_accented_word_must_agree_with_filler() -> None:
    # "chở" is not the filler "cho": a word typed with other diacritics is kept.
    assert normalize("chở em hỏi đường").tokens[0] == "chở"


def test_ambiguous_abbreviation_keeps_every_reading() -> None:
    result = normalize("dk vneid")
    readings = {result.text, *(" ".join(a) for a in result.alternatives)}
    assert readings == {"đăng ký vneid", "điều kiện vneid"}


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        ("đăng ký vào lớp một", "đăng ký vào lớp 1"),
        ("dang ky vao lop mot", "dang ky vao lớp 1"),  # the canonical form brings its diacritics
        ("học hết lớp năm thì lên lớp sáu", "học hết lớp 5 thì lên lớp 6"),
        ("lớp mười hai", "lớp 12"),  # the longer number wins over "lớp mười"
        ("tài khoản mức hai", "tài khoản mức 2"),
        ("trường cấp ba", "trường cấp 3"),
        ("một năm học hai kỳ", "một năm học hai kỳ"),  # a number word not after a counting word stays
    ],
)
def test_number_word_after_counting_word_reads_as_digit(raw: str, tokens: str) -> None:
    assert normalize(raw).text == tokens
    assert normalize(raw).stripped == normalize(tokens).stripped


def test_typed_with_diacritics_flag() -> None:
    assert normalize("kích hoạt").typed_with_diacritics
    assert not normalize("kich hoat").typed_with_diacritics
    assert normalize("kich hoat").stripped == normalize("kích hoạt").stripped


def test_only_courtesy_words_are_kept_for_small_talk() -> None:
    assert normalize("dạ ạ").tokens  # not emptied: a message of fillers stays visible


@pytest.mark.parametrize("junk", ["", "   ", "😀😀😀", "\x00\x01\x02", "https://x.vn", "!!!???"])
def test_junk_normalizes_to_nothing(junk: str) -> None:
    assert normalize(junk).tokens == ()


def test_long_texts_are_folded_without_filling_the_word_cache() -> None:
    from bot.kb import normalize

    answer = "Công dân đăng ký tạm trú tại Công an phường, mang theo căn cước và giấy tờ chỗ ở. " * 20
    before = normalize._strip_word.cache_info().currsize
    assert normalize.strip_accents(answer).startswith("Cong dan dang ky tam tru tai Cong an phuong")
    assert normalize._strip_word.cache_info().currsize == before  # a whole answer is not kept in the cache
    assert normalize.strip_accents("Định") == "Dinh"
