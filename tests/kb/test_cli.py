"""The command line as staff and outside checks use it: ``python -m bot ask`` and ``python -m bot kb check``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

WriteKb = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILES = ("_scam.yaml", "_announcements.yaml", "_schedule.yaml")  # read by the scam checker and announcements


def _bot(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        cwd=ROOT,
        timeout=120,
    )


def test_ask_json_batch_follows_the_schema(write_kb: WriteKb) -> None:
    folder = write_kb()
    questions = ["quen mat khau vneid", "giá vàng hôm nay", "", "😀", "kích hoạt mức 2"]
    proc = _bot("ask", "--kb", str(folder), "--json", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["quen mat khau vneid", "giá vàng hôm nay", "😀", "kích hoạt mức 2"]
    for obj in lines:
        assert set(obj) == {"query", "answered", "id", "score", "candidates"}
        assert isinstance(obj["answered"], bool)
        assert obj["id"] is None or isinstance(obj["id"], str)
        assert 0.0 <= obj["score"] <= 1.0
        assert all(set(c) == {"id", "score"} for c in obj["candidates"])
    assert lines[0]["answered"] and lines[0]["id"] == "vneid-quen-mat-khau"
    assert not lines[1]["answered"]
    assert not lines[2]["answered"] and lines[2]["candidates"] == []
    assert lines[3]["id"] == "vneid-kich-hoat-muc-2"


def test_ask_answers_lines_that_are_not_utf8_instead_of_stopping(write_kb: WriteKb) -> None:
    # Bytes as a broken terminal or a pasted file sends them, on standard input and as an argument.
    stdin = b"\xff\xfeabc\x00\nquen mat khau \xff vneid\n\x00\x00\nk\xc3\xadch ho\xe1\xba\xa1t m\xe1\xbb\xa9c 2\n"
    for args, given in ((("--json",), stdin), (("--json", b"quen mat khau \xff vneid"), b"")):
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--kb", str(write_kb()), *args],
            input=given,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C", "LANG": "C"},
            cwd=ROOT,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
        lines = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
        by_query = {x["query"]: x for x in lines}
        assert by_query["quen mat khau \ufffd vneid"]["id"] == "vneid-quen-mat-khau"
        if given:
            assert [x["query"] for x in lines] == ["\ufffd\ufffdabc", "quen mat khau \ufffd vneid", "kích hoạt mức 2"]


def test_ask_one_question_from_arguments(write_kb: WriteKb) -> None:
    proc = _bot("ask", "--kb", str(write_kb()), "quên", "mật", "khẩu", "vneid")
    assert proc.returncode == 0
    assert "[vneid-quen-mat-khau]" in proc.stdout


def test_ask_reads_knowledge_dir_from_the_environment(write_kb: WriteKb) -> None:
    proc = _bot("ask", "--json", "tin nhắn đòi tiền điện", env={"KNOWLEDGE_DIR": str(write_kb())})
    assert json.loads(proc.stdout)["id"] == "lua-dao-hoa-don-dien-gia"


def test_kb_check_passes_and_fails(write_kb: WriteKb) -> None:
    good = _bot("kb", "check", "--kb", str(write_kb()))
    assert good.returncode == 0, good.stdout
    assert "0 lỗi" in good.stdout
    assert "calibration: answer ≥" in good.stdout
    bad_folder = write_kb({"bad.yaml": "category: bad\ntitle: B\nentries:\n  - id: x\n    question: Q\n"})
    bad = _bot("kb", "check", "--kb", str(bad_folder))
    assert bad.returncode == 1
    assert f"{bad_folder / 'bad.yaml'}:4: " in bad.stdout


def test_kb_check_reads_every_configuration_file_the_bot_reads(write_kb: WriteKb) -> None:
    """``kb check`` starts with its own module only, yet reports on the scam checker's and the announcements'
    files as the running bot reads them, instead of calling them unused."""
    from tests.kb.conftest import TOPIC_SCAM, TOPIC_VNEID

    shipped = {name: (ROOT / "knowledge" / name).read_text("utf-8") for name in CONFIG_FILES}
    folder = write_kb({"vneid.yaml": TOPIC_VNEID, "lua-dao.yaml": TOPIC_SCAM, **shipped})
    good = _bot("kb", "check", "--kb", str(folder))
    assert good.returncode == 0, good.stdout
    assert "không được dùng tới" not in good.stdout
    schedule = "notices:\n  - id: sai-lich\n    text: Thông báo thử\n    cron: 'không phải lịch'\n"
    write_kb({"_schedule.yaml": schedule})
    bad = _bot("kb", "check", "--kb", str(folder))
    assert bad.returncode == 1, bad.stdout
    assert f"{folder / '_schedule.yaml'}:" in bad.stdout
    env = {"KNOWLEDGE_DIR": str(folder), "KNOWLEDGE_SNAPSHOT_DIR": str(folder.parent / "snapshot")}
    held = _bot("kb", "confirm", env=env)
    assert held.returncode == 1 and "_schedule.yaml" in held.stderr  # a broken schedule keeps the edit held
    broken_scam = write_kb({"_scam.yaml": "official_domains: [1, 2\n"})
    assert _bot("kb", "check", "--kb", str(broken_scam)).returncode == 1


def test_shipped_knowledge_base_passes_the_gate() -> None:
    proc = _bot("kb", "check")
    assert proc.returncode == 0, proc.stdout[-3000:]
    confusable = [line for line in proc.stdout.splitlines() if "[confusable entries]" in line]
    assert confusable == []


def test_ask_large_batch_keeps_input_order(write_kb: WriteKb) -> None:
    questions = [f"{q} {n}" for n in range(60) for q in ("quen mat khau vneid", "tin nhắn đòi tiền điện")]
    proc = _bot("ask", "--kb", str(write_kb()), "--json", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == questions  # 120 questions: answered by worker processes, in order
    assert {x["id"] for x in lines[0::2]} == {"vneid-quen-mat-khau"}
    assert {x["id"] for x in lines[1::2]} == {"lua-dao-hoa-don-dien-gia"}
