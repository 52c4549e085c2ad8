"""Loader tests: every problem is reported at its exact ``file:line``."""

from __future__ import annotations

import datetime as dt
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


def test_duplicate_ids_and_categories_across_files(write_kb: WriteKb) -> None:
    folder = write_kb({"vneid.yaml": TOPIC_VNEID, "copy.yaml": TOPIC_VNEID.replace("Định danh", "Khác")})
    errors = _errors(folder)
    assert ("vneid.yaml", 1, errors[0][2]) in errors or any(
        n == "vneid.yaml" and ln == 1 and "đã dùng" in m for n, ln, m in errors
    )
    dup_ids = [e for e in errors if "[duplicate id]" in e[2]]
    assert [(n, ln) for n, ln, _ in dup_ids] == [("vneid.yaml", 4), ("vneid.yaml", 15), ("vneid.yaml", 23)]
    assert "copy.yaml:4" in dup_ids[0][2]


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
