"""Markdown → Telegram HTML / plain text, and message splitting; every HTML output must pass the fake's validator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.render import (
    TELEGRAM_LIMIT,
    render_plain,
    render_telegram,
    split_message,
    to_plain_text,
    to_telegram_html,
    utf16_len,
)
from tests.fakes.telegram_api import ApiError, parse_telegram_html

ANSWER = """Để **kích hoạt VNeID mức 2**, bạn làm như sau:

1. Mang căn cước gắn chip đến [công an phường](https://dichvucong.gov.vn/p?a=1&b=2).
2. Đăng ký tại quầy.

- Mang theo điện thoại
- Giờ làm việc: 7h30–17h"""


def test_bold_lists_and_links_render_as_telegram_html() -> None:
    out = to_telegram_html(ANSWER)
    assert "<b>kích hoạt VNeID mức 2</b>" in out
    assert '<a href="https://dichvucong.gov.vn/p?a=1&amp;b=2">công an phường</a>' in out
    assert "\n1. Mang" in out and "\n• Mang theo điện thoại" in out
    assert "\n\n" in out  # paragraphs kept
    parse_telegram_html(out)


def test_every_piece_of_text_is_escaped() -> None:
    out = to_telegram_html('<b>x</b> & <script>alert("x")</script> **<i>bold</i>**')
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&amp;" in out
    assert "<b>&lt;i&gt;bold&lt;/i&gt;</b>" in out
    assert parse_telegram_html(out).startswith("<b>x</b> & <script>")


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "tel:0123456789", 'https://x.vn/"onmouseover="a', "ftp://x.vn/file"],
)
def test_only_http_links_become_anchors(url: str) -> None:
    out = to_telegram_html(f"[bấm vào]({url})")
    parse_telegram_html(out)
    if "<a " in out:
        assert '"' not in out.split('href="', 1)[1].split('">', 1)[0]
    assert "javascript" not in out or "<a" not in out
    assert "bấm vào" in out


def test_quotes_in_urls_cannot_break_the_attribute() -> None:
    out = to_telegram_html("[a](https://x.vn/?q='1')")
    parse_telegram_html(out)
    assert "<a" not in out or 'href="https://x.vn/?q=&#x27;1&#x27;"' in out


def test_plain_text_renderer() -> None:
    out = to_plain_text(ANSWER)
    assert "**" not in out
    assert "công an phường: https://dichvucong.gov.vn/p?a=1&b=2" in out
    assert out.startswith("Để kích hoạt VNeID mức 2, bạn")
    assert to_plain_text("[https://a.vn](https://a.vn)") == "https://a.vn"
    assert render_plain("") == []


def test_headings_and_code() -> None:
    out = to_telegram_html("# Giờ làm việc\n`a<b`")
    assert out == "<b>Giờ làm việc</b>\n<code>a&lt;b</code>"


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    paragraphs = "\n\n".join(f"Đoạn {i} " + "chữ " * 30 for i in range(10))
    chunks = split_message(paragraphs, 400)
    assert all(len(c) <= 400 for c in chunks)
    assert all(c.startswith("Đoạn") for c in chunks)  # never cut inside a paragraph when not needed
    lines = "\n".join("dòng " * 10 for _ in range(100))
    assert all(c.startswith("dòng") and len(c) <= 120 for c in split_message(lines, 120))
    words = "từ " * 500
    chunks = split_message(words, 100)
    assert all(len(c) <= 100 and not c.startswith(" ") for c in chunks)
    assert " ".join(chunks).split() == words.split()


def test_one_huge_word_is_cut_by_characters() -> None:
    chunks = split_message("a" * 10_000, TELEGRAM_LIMIT)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]


def test_limit_counts_utf16_units() -> None:
    chunks = render_telegram("😀" * 5000)
    assert all(utf16_len(c) <= TELEGRAM_LIMIT for c in chunks)
    assert "".join(chunks) == "😀" * 5000


def test_render_telegram_keeps_escaped_chunks_under_the_limit() -> None:
    text = ("Hỏi & <đáp> " * 50 + "\n") * 40 + "\n\n" + ("[link dài](https://a.vn/x) **đậm đà** " * 300)
    chunks = render_telegram(text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert utf16_len(chunk) <= TELEGRAM_LIMIT
        parse_telegram_html(chunk)


def test_empty_and_blank_texts_give_no_chunks() -> None:
    assert render_telegram("") == []
    assert render_telegram(" \n\n  ") == []


def test_validator_rejects_bad_html() -> None:
    for bad in ["<b>x", "<div>x</div>", "a < b", "&nbsp;", '<a href="javascript:x">y</a>', "</b>"]:
        with pytest.raises(ApiError):
            parse_telegram_html(bad)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*list("ab *_[]()<>&\"'`#-1.\n😀đ\u200b"), "https://x.vn", "**", "]("]), max_size=120).map(
        "".join
    )
)
def test_any_markdown_renders_to_valid_telegram_html(text: str) -> None:
    for chunk in render_telegram(text, 120):
        assert utf16_len(chunk) <= 120
        parse_telegram_html(chunk)
