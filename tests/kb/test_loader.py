"""Loader tests: every problem is reported at its exact ``file:line``."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.kb.loader import load_knowledge
from bot.kb.problems import Severity
from tests.kb.conftest import TOPIC_SCAM, TOPIC_VNEID

WriteKb = Callable[..., Path]

GOOD_HEAD = "category: a\ntitle: A\nentries:\n"


def _errors(folder: Path) -> list[tuple[str, int, str]]:
    result = load_knowledge(folder)
    return [(Path(p.file).name, p.line, p.message) for p in result.problems if p.severity is Severity.ERROR]


def test_valid_folder_loads(write_kb: WriteKb) -> None:
    result = load_knowledge(write_kb())
    assert result.errors == []
    assert result.kb is not None
    assert [c.slug for c in result.kb.categories] == ["lua-dao", "vneid"]
    entry = result.kb.entry("vneid-kich-hoat-muc-2")
    assert entry is not None
    assert entry.updated == dt.date(2026, 3, 1)
    assert entry.line == 4
    assert entry.variants[1] == "lam sao kich hoat muc 2 tren vneid"


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("  - id: x\n    question: Q?\n    answer: A\n    varaints: [a]\n", 7, 'ý bạn là "variants"'),
        ("  - id: x\n    question: Q?\n", 4, 'thiếu "answer"'),
        ("  - id: x\n    question: '  '\n    answer: A\n", 5, '"question" (câu hỏi) đang để trống'),
        ("  - id: Bad_Id\n    question: Q?\n    answer: A\n", 4, 'mã "Bad_Id" không hợp lệ'),
        ("  - id: x\n    question: Q?\n    answer: A\n    variants: một câu\n", 7, '"variants" phải là một danh sách'),
        ("  - id: x\n    question: Q?\n    answer: A\n    updated: 2026-13-01\n", 7, 'ngày "2026-13-01" không hợp lệ'),
        ("  - id: x\n    question: Q?\n    answer: A\n    updated: hôm qua\n", 7, "không hợp lệ"),
        ("  - id: x\n    question: Q?\n    answer: A\n    source: vneid.gov.vn\n", 7, "địa chỉ web"),
        ("  - id: x\n    question: Q?\n    answer: 'Gọi {{ward.fone}}'\n", 6, "ward.fone"),
        ("  - id: x\n    question: Q?\n    question: R?\n    answer: A\n", 6, "bị lặp lại"),
        ("  - id: x\n    question: [a, b]\n    answer: A\n", 5, "phải là một đoạn chữ"),
        ("  - just text\n", 4, "phải có id, question, answer"),
    ],
)
def test_entry_errors_at_exact_line(write_kb: WriteKb, body: str, line: int, fragment: str) -> None:
    errors = _errors(write_kb({"a.yaml": GOOD_HEAD + body}))
    assert any(n == "a.yaml" and ln == line and fragment in msg for n, ln, msg in errors), errors


def test_yaml_syntax_error_line(write_kb: WriteKb) -> None:
    text = GOOD_HEAD + "  - id: x\n    question: Q?\n    answer: 'unclosed\n  - id: y\n"
    errors = _errors(write_kb({"a.yaml": text}))
    assert errors and errors[0][0] == "a.yaml" and "lỗi cú pháp YAML" in errors[0][2]
    assert errors[0][1] >= 6


def test_bad_indentation_is_a_syntax_error(write_kb: WriteKb) -> None:
    errors = _errors(write_kb({"a.yaml": "category: a\n title: A\nentries: []\n"}))
    assert errors[0][:2] == ("a.yaml", 2)


def test_not_utf8(write_kb: WriteKb) -> None:
    raw = (GOOD_HEAD + "  - id: x\n    question: Hỏi\n").encode("utf-8") + "    answer: Đáp\n".encode("cp1258")
    errors = _errors(write_kb({"a.yaml": raw}))
    assert errors == [("a.yaml", 6, errors[0][2])] and "UTF-8" in errors[0][2]


def _age(folder: Path, name: str, seconds_ago: int) -> None:
    stamp = time.time() - seconds_ago
    os.utime(folder / name, (stamp, stamp))


@pytest.mark.parametrize(("old", "new"), [("vneid.yaml", "copy.yaml"), ("copy.yaml", "vneid.yaml")])
def test_duplicates_are_blamed_on_the_newer_file(write_kb: WriteKb, old: str, new: str) -> None:
    folder = write_kb({"vneid.yaml": TOPIC_VNEID, "copy.yaml": TOPIC_VNEID.replace("Định danh", "Khác")})
    _age(folder, old, 3600)  # staff saved ``new`` just now: whatever its name, it carries the blame
    _age(folder, new, 10)
    errors = _errors(folder)
    dup_category = [e for e in errors if "[duplicate category]" in e[2]]
    assert [(n, ln) for n, ln, _ in dup_category] == [(new, 1)]
    assert f"{old}:1 (tệp có trước)" in dup_category[0][2]
    dup_ids = [e for e in errors if "[duplicate id]" in e[2]]
    assert [(n, ln) for n, ln, _ in dup_ids] == [(new, 4), (new, 15), (new, 23)]
    assert f"{old}:4 (mục có trước)" in dup_ids[0][2]
    assert "hãy đặt mã khác cho mục này" in dup_ids[0][2]


def test_duplicate_id_in_one_file_blames_the_later_entry(write_kb: WriteKb) -> None:
    body = "  - id: x\n    question: Q?\n    answer: A\n  - id: x\n    question: R?\n    answer: B\n"
    errors = _errors(write_kb({"a.yaml": GOOD_HEAD + body}))
    assert [(n, ln) for n, ln, m in errors if "[duplicate id]" in m] == [("a.yaml", 7)]


def test_tab_indentation_is_named(write_kb: WriteKb) -> None:
    text = GOOD_HEAD + "  - id: x\n    question: Q?\n\tanswer: A\n"
    errors = _errors(write_kb({"a.yaml": text}))
    assert len(errors) == 1
    name, line, message = errors[0]
    assert (name, line) == ("a.yaml", 6)
    assert "ký tự Tab" in message and message.startswith("lỗi cú pháp YAML")


def test_a_tab_far_from_the_error_is_not_blamed(write_kb: WriteKb) -> None:
    text = GOOD_HEAD + "  - id: x\n    question: Mức 2: cần gì?\n    answer: A\n" + "\n" * 5 + "#\tghi chú\n"
    errors = _errors(write_kb({"a.yaml": text}))
    assert [(n, ln) for n, ln, _ in errors] == [("a.yaml", 5)]
    assert "Tab" not in errors[0][2] and "ngoặc kép" in errors[0][2]


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("    question: Mức 2: cần gì?\n", "đặt cả câu trong dấu ngoặc kép"),
        ("    question: 'chưa đóng ngoặc\n", "chưa đóng"),
    ],
)
def test_yaml_syntax_errors_are_told_in_vietnamese(write_kb: WriteKb, bad: str, fragment: str) -> None:
    errors = _errors(write_kb({"a.yaml": GOOD_HEAD + "  - id: x\n" + bad + "    answer: A\n"}))
    assert errors[0][1] == 5 and fragment in errors[0][2], errors
    assert "[YAML syntax error:" in errors[0][2]  # the original English stays in brackets for support staff


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2026-02-30", "ngày 30 tháng 2 không tồn tại (tháng 2 năm 2026 có 28 ngày)"),
        ("2026-04-31", "ngày 31 tháng 4 không tồn tại"),
        ("2026-13-01", "tháng 13 không tồn tại"),
        ("01/03/2026", "viết theo dạng NĂM-THÁNG-NGÀY"),
    ],
)
def test_impossible_dates_say_what_is_wrong(write_kb: WriteKb, value: str, fragment: str) -> None:
    errors = _errors(
        write_kb({"a.yaml": GOOD_HEAD + f"  - id: x\n    question: Q?\n    answer: A\n    updated: {value}\n"})
    )
    assert [(n, ln) for n, ln, _ in errors] == [("a.yaml", 7)]
    assert fragment in errors[0][2], errors[0][2]


def test_leap_day_and_quoted_dates_are_accepted(write_kb: WriteKb) -> None:
    body = (
        "  - id: x\n    question: Q?\n    answer: A\n    updated: 2028-02-29\n"
        "  - id: y\n    question: R?\n    answer: B\n    updated: '2026-03-01'\n"
    )
    result = load_knowledge(write_kb({"a.yaml": GOOD_HEAD + body}))
    assert result.kb is not None
    assert [e.updated for e in result.kb.entries] == [dt.date(2028, 2, 29), dt.date(2026, 3, 1)]


@pytest.mark.parametrize(("value", "days"), [("30", 30), ("nhanh", 90), ("hang-thang", 30)])
def test_review_field_takes_days_or_a_keyword(write_kb: WriteKb, value: str, days: int) -> None:
    body = f"  - id: x\n    question: Q?\n    answer: A\n    review: {value}\n"
    result = load_knowledge(write_kb({"a.yaml": GOOD_HEAD + body}))
    assert result.kb is not None
    entry = result.kb.entry("x")
    assert entry is not None and entry.review_days == days


@pytest.mark.parametrize("value", ["0", "thinh-thoang", "true", "[30]"])
def test_bad_review_value_is_an_error_at_its_line(write_kb: WriteKb, value: str) -> None:
    body = f"  - id: x\n    question: Q?\n    answer: A\n    review: {value}\n"
    errors = _errors(write_kb({"a.yaml": GOOD_HEAD + body}))
    assert [(n, ln) for n, ln, _ in errors] == [("a.yaml", 7)]
    assert '"review"' in errors[0][2] and "hang-thang" in errors[0][2]


def test_empty_ward_field_used_by_an_answer_is_a_warning(write_kb: WriteKb) -> None:
    folder = write_kb(
        {
            "_ward.yaml": "# liên hệ\nname: UBND phường Hòa Bình\nphone: ''\npolice_phone: ''\n",
            "a.yaml": GOOD_HEAD
            + "  - id: x\n    question: Q?\n    answer: Gọi {{ward.phone}} hoặc {{ward.name}}\n"
            + "  - id: y\n    question: R?\n    answer: Hỏi {{ward.phone}}.\n",
        }
    )
    result = load_knowledge(folder)
    assert result.kb is not None
    warnings = [(Path(p.file).name, p.line, p.message) for p in result.problems if "[empty ward field" in p.message]
    assert [(n, ln) for n, ln, _ in warnings] == [("_ward.yaml", 3)]  # name is filled; police_phone unused
    assert '"phone" đang để trống nhưng 2 câu trả lời' in warnings[0][2] and 'mục "x"' in warnings[0][2]


def test_a_bracketed_placeholder_disappears_while_the_field_is_empty(write_kb: WriteKb) -> None:
    answer = "answer: Báo công an phường ({{ward.police_phone}}) hoặc gọi 113.\n"
    empty = load_knowledge(write_kb({"a.yaml": GOOD_HEAD + "  - id: x\n    question: Q?\n    " + answer}))
    assert empty.kb is not None and empty.kb.entries[0].answer == "Báo công an phường hoặc gọi 113."
    filled = load_knowledge(write_kb({"_ward.yaml": "police_phone: 0999 111 222\n"}))
    assert filled.kb is not None and filled.kb.entries[0].answer == "Báo công an phường (0999 111 222) hoặc gọi 113."


def test_unknown_top_level_key_and_missing_entries(write_kb: WriteKb) -> None:
    errors = _errors(write_kb({"a.yaml": "category: a\ntitle: A\nentry: []\n"}))
    assert ("a.yaml", 3) in [(n, ln) for n, ln, _ in errors]
    assert any('"entries"' in m for _, _, m in errors)


def test_missing_source_is_a_warning_not_an_error(write_kb: WriteKb) -> None:
    result = load_knowledge(write_kb({"a.yaml": GOOD_HEAD + "  - id: x\n    question: Q?\n    answer: A\n"}))
    assert result.kb is not None
    assert [(p.line, p.severity) for p in result.problems] == [(4, Severity.WARNING)]


def test_ward_placeholders_are_filled(write_kb: WriteKb) -> None:
    folder = write_kb(
        {
            "_ward.yaml": "name: UBND phường Hòa Bình\nphone: 024 0000 0000\n",
            "a.yaml": GOOD_HEAD + "  - id: x\n    question: Q?\n    answer: Gọi {{ ward.phone }} ({{ward.name}})\n",
        }
    )
    result = load_knowledge(folder)
    assert result.kb is not None
    entry = result.kb.entry("x")
    assert entry is not None and entry.answer == "Gọi 024 0000 0000 (UBND phường Hòa Bình)"
    assert result.kb.ward.name == "UBND phường Hòa Bình"


def test_unfilled_placeholder_uses_a_neutral_default(write_kb: WriteKb) -> None:
    result = load_knowledge(
        write_kb({"a.yaml": GOOD_HEAD + "  - id: x\n    question: Q?\n    answer: '{{ward.phone}}'\n"})
    )
    assert result.kb is not None
    entry = result.kb.entry("x")
    assert entry is not None and "UBND phường/xã" in entry.answer


def test_config_file_errors(write_kb: WriteKb) -> None:
    folder = write_kb(
        {"_ward.yaml": "name: X\nphon: 1\n", "_synonyms.yaml": "synonyms:\n  - [một]\n", "vneid.yaml": TOPIC_VNEID}
    )
    errors = _errors(folder)
    assert ("_ward.yaml", 2) in [(n, ln) for n, ln, _ in errors]
    assert ("_synonyms.yaml", 2) in [(n, ln) for n, ln, _ in errors]


def test_staff_synonyms_extend_the_engine(write_kb: WriteKb) -> None:
    folder = write_kb({"_synonyms.yaml": "abbreviations:\n  xyz: vneid\n", "vneid.yaml": TOPIC_VNEID})
    result = load_knowledge(folder)
    assert result.kb is not None and result.kb.abbreviations == {"xyz": ("vneid",)}


def test_single_file_path(write_kb: WriteKb) -> None:
    folder = write_kb()
    result = load_knowledge(folder / "lua-dao.yaml")
    assert result.kb is not None and [c.slug for c in result.kb.categories] == ["lua-dao"]


def test_missing_folder(tmp_path: Path) -> None:
    result = load_knowledge(tmp_path / "nope")
    assert result.kb is None and "không tìm thấy" in result.problems[0].message


def test_problem_format(write_kb: WriteKb) -> None:
    folder = write_kb({"a.yaml": GOOD_HEAD + "  - id: x\n    question: Q?\n"})
    problem = load_knowledge(folder).errors[0]
    assert str(problem).startswith(f"{folder / 'a.yaml'}:4: ")


def test_scam_fixture_is_valid(write_kb: WriteKb) -> None:
    assert load_knowledge(write_kb({"s.yaml": TOPIC_SCAM})).errors == []


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("https://vnexpress.net/doi-the-can-cuoc-4800000.html", "[source not official]"),
        ("http://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc.html", "[source not https]"),
        ("https://dichvucong.gov.vn/", "[source is a home page]"),
        ("https://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc-nganh-doc.html?ma_thu_tuc=1.001612", None),
        ("https://xaydungchinhsach.chinhphu.vn/bai-viet-119250701.htm", None),
        ("https://vbpl.vn/tw/Pages/vbpq-toanvan.aspx?ItemID=165543", None),
    ],
)
def test_sources_must_be_specific_official_pages(write_kb: WriteKb, source: str, tag: str | None) -> None:
    body = TOPIC_VNEID.replace("source: https://vneid.gov.vn", f"source: {source}", 1)
    result = load_knowledge(write_kb({"vneid.yaml": body}))
    assert result.kb is not None  # a warning, never an error: the entry still serves
    tags = {
        t
        for p in result.problems
        for t in ("[source not official]", "[source not https]", "[source is a home page]")
        if t in p.message and p.line == 4
    }
    assert tags == ({tag} if tag else set())
    flagged = [p for p in result.problems if "source" in p.message and "[source" in p.message and p.line == 4]
    assert all(p.severity is Severity.WARNING and 'mục "vneid-kich-hoat-muc-2"' in p.message for p in flagged)


def test_a_later_load_reads_again_only_the_files_that_changed(write_kb: WriteKb) -> None:
    folder = write_kb()
    first = load_knowledge(folder)
    assert first.kb is not None
    vneid = (folder / "vneid.yaml").read_text("utf-8")
    # Every file rewritten (new modification times), one of them with different bytes.
    (folder / "vneid.yaml").write_text(vneid.replace("mức 2", "mức hai", 1), "utf-8")
    (folder / "lua-dao.yaml").write_text((folder / "lua-dao.yaml").read_text("utf-8"), "utf-8")
    again = load_knowledge(folder, previous=first)
    fresh = load_knowledge(folder)
    assert again.kb is not None and fresh.kb is not None
    assert again.kb == fresh.kb
    assert again.problems == fresh.problems
    scam_before, scam_after = (next(c for c in r.kb.categories if c.slug == "lua-dao") for r in (first, again))
    assert scam_after is scam_before  # taken over, not parsed again
    vneid_before, vneid_after = (next(c for c in r.kb.categories if c.slug == "vneid") for r in (first, again))
    assert vneid_after is not vneid_before
    assert vneid_after != vneid_before


def test_a_file_taken_over_keeps_its_problems_and_follows_the_ward(write_kb: WriteKb) -> None:
    topic = (
        GOOD_HEAD + "  - id: a-1\n    question: Giờ làm việc?\n    answer: Làm việc {{ ward.working_hours }}.\n"
    )
    folder = write_kb({"a.yaml": topic})
    first = load_knowledge(folder)
    assert first.kb is not None
    warnings = [p for p in first.problems if p.severity is Severity.WARNING]
    assert any("source" in p.message for p in warnings)
    again = load_knowledge(folder, previous=first)
    assert again.problems == first.problems
    (folder / "_ward.yaml").write_text('name: "Phường Mới"\nworking_hours: "7 giờ đến 17 giờ"\n', "utf-8")
    with_ward = load_knowledge(folder, previous=again)
    assert with_ward.kb is not None
    entry = with_ward.kb.entry("a-1")
    assert entry is not None and "7 giờ đến 17 giờ" in entry.answer
