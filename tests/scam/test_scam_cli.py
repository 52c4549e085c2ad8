"""``python -m bot kiemtra``: arguments or standard input, JSON lines, ``_scam.yaml`` problems with file:line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.kb.loader import load_knowledge

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["kiemtra", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_json_one_object_per_argument(capsys: pytest.CaptureFixture[str], kb_dir: Path) -> None:
    code, rows = run(capsys, "--json", "--kb", str(kb_dir), "https://vneid.gov.vn.xyz/login", "Tối nay ăn cơm nhé")
    assert code == 0
    assert [r["level"] for r in rows] == ["danger", "none"]
    assert set(rows[0]) == {"text", "level", "signals", "entries"}
    assert rows[0]["text"] == "https://vneid.gov.vn.xyz/login"
    codes = [s["code"] for s in rows[0]["signals"]]  # type: ignore[attr-defined]
    assert "link_lookalike" in codes
    assert all(str(e).startswith("lua-dao-") for e in rows[0]["entries"])  # type: ignore[attr-defined]
    assert rows[0]["entries"]


def test_stdin_one_message_per_line_with_escaped_newlines(
    capsys: pytest.CaptureFixture[str], kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "Dòng một\\nChuyển toàn bộ tiền vào tài khoản an toàn\n\nbit.ly/abc\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code, rows = run(capsys, "--json", "--kb", str(kb_dir))
    assert code == 0
    assert [r["text"] for r in rows] == ["Dòng một\nChuyển toàn bộ tiền vào tài khoản an toàn", "bit.ly/abc"]
    assert [r["level"] for r in rows] == ["danger", "suspicious"]


def test_text_output_and_no_kb(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["kiemtra", "--no-kb", "--kb", str(tmp_path), "hxxps://dichvucong-gov[.]vn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("🔴") and "link_lookalike" in out


def test_config_problems_carry_file_and_line(capsys: pytest.CaptureFixture[str], kb_dir: Path) -> None:
    (kb_dir / "_scam.yaml").write_text(
        "official_domains:\n  - vneid.gov.vn\n  - 'not a domain'\nbrands: [ok-word]\ncolour: red\n", encoding="utf-8"
    )
    assert main(["kiemtra", "--kb", str(kb_dir), "abc"]) == 1
    err = capsys.readouterr().err
    assert "_scam.yaml:3:" in err and "_scam.yaml:4:" in err and "_scam.yaml:5:" in err
    problems = [str(p) for p in load_knowledge(kb_dir).errors]
    assert any("_scam.yaml:3:" in p for p in problems)  # kb check and /reload refuse it too


def test_shipped_config_is_valid_and_read() -> None:
    result = load_knowledge(ROOT / "knowledge")
    assert not [p for p in result.errors if "_scam" in p.file]
    assert "_scam" in result.config.extra


def test_block_list_from_the_file(capsys: pytest.CaptureFixture[str], kb_dir: Path) -> None:
    (kb_dir / "_scam.yaml").write_text("block_list:\n  - https://www.lua-dao-dia-phuong.vn/\n", encoding="utf-8")
    code, rows = run(capsys, "--json", "--no-kb", "--kb", str(kb_dir), "xem lua-dao-dia-phuong.vn/x")
    assert code == 0 and rows[0]["level"] == "danger"


def test_real_command_over_stdin(kb_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "kiemtra", "--json", "--kb", str(kb_dir)],
        input="Chúc mừng bạn trúng thưởng, nộp phí 500k để nhận\nhxxp://vnеid.gov.vn\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["level"] for r in rows] == ["danger", "danger"]


def test_real_command_survives_lines_that_are_not_utf8(kb_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "kiemtra", "--json", "--kb", str(kb_dir)],
        input=b"\xff\xfe\x00\n" + "Chúc mừng bạn trúng thưởng, nộp phí 500k để nhận ".encode() + b"\xff\n",
        capture_output=True,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["\ufffd\ufffd", "Chúc mừng bạn trúng thưởng, nộp phí 500k để nhận \ufffd"]
    assert rows[1]["level"] == "danger"
