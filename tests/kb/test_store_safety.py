"""The knowledge base at start-up and on reload: long answers, interrupted copies held until staff confirm, and
the last good snapshot used when the folder has errors at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.channels.render import TELEGRAM_LIMIT, render_plain, render_telegram, to_plain_text, utf16_len
from bot.channels.zalo.api import ZALO_LIMIT
from bot.kb.loader import MAX_ANSWER_CHARS, load_knowledge
from bot.kb.problems import KnowledgeLoadError, Severity
from bot.kb.store import KnowledgeStore, ReloadOutcome
from handlers import texts
from handlers.staff import reload_report
from tests.conftest import CATEGORY_BHYT, write_knowledge

ROOT = Path(__file__).resolve().parents[2]


def _topic(count: int, *, answer: str = "Câu trả lời.") -> str:
    entries = "".join(
        f"  - id: thu-tuc-{i}\n    question: Thủ tục số {i} cần giấy tờ gì?\n    answer: {answer} {i}\n"
        for i in range(1, count + 1)
    )
    return f"category: thu-tuc\ntitle: Thủ tục\nentries:\n{entries}"


def _touch_later(path: Path, text: str) -> None:
    """Write ``text`` so that the store sees a changed file even within one filesystem tick."""
    path.write_text(text, encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))


def test_a_long_answer_is_a_warning_and_channels_split_it_at_paragraphs(tmp_path: Path) -> None:
    paragraphs = [f"Bước {i}: " + "làm theo hướng dẫn của cán bộ một cửa " * 12 for i in range(1, 16)]
    answer = "\n\n".join(paragraphs)
    assert len(answer) > MAX_ANSWER_CHARS
    block = "\n".join("      " + line for line in answer.split("\n"))
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "dai.yaml").write_text(
        f"category: dai\ntitle: Dài\nentries:\n  - id: rat-dai\n    question: Hỏi dài?\n    answer: |\n{block}\n",
        encoding="utf-8",
    )
    result = load_knowledge(folder)
    assert result.kb is not None and result.kb.entry("rat-dai") is not None
    [warning] = [p for p in result.problems if "dài" in p.message]
    assert warning.severity is Severity.WARNING and "dai.yaml:6" in str(warning)
    telegram = render_telegram(answer)
    zalo = render_plain(answer, ZALO_LIMIT)
    assert len(telegram) == 2 and all(utf16_len(c) <= TELEGRAM_LIMIT for c in telegram)
    assert len(zalo) >= 3 and all(len(c) <= ZALO_LIMIT for c in zalo)
    for chunks in (telegram, zalo):  # every message is whole paragraphs, nothing lost or cut mid-sentence
        pieces = [p for c in chunks for p in c.split("\n\n")]
        assert pieces == [to_plain_text(p) for p in paragraphs]


def test_a_file_cut_in_half_is_held_until_staff_confirm(kb_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    _touch_later(kb_dir / "thu-tuc.yaml", _topic(10))
    store = KnowledgeStore.open(kb_dir)
    assert len(store.kb.entries) == 16
    _touch_later(kb_dir / "thu-tuc.yaml", _topic(4))  # cut between entries: still valid YAML, 4 entries left
    outcome = store.reload()
    assert outcome.held and not outcome.ok and len(store.kb.entries) == 16  # the old version stays live
    [problem] = outcome.problems
    assert problem.file == "thu-tuc.yaml" and "10" in problem.message and "4" in problem.message
    report = reload_report(outcome)[0].text
    assert report.startswith(texts.RELOAD_HELD.split("{")[0]) and "thu-tuc.yaml" in report and "/reload" in report
    assert "held until staff confirm" in caplog.text
    confirmed = store.reload(confirm=True)  # what /reload does
    assert confirmed.ok and len(store.kb.entries) == 6 + 4


def test_a_file_not_ending_cleanly_is_held(kb_dir: Path) -> None:
    store = KnowledgeStore.open(kb_dir)
    cut = CATEGORY_BHYT[: CATEGORY_BHYT.index("khai sinh.")] + "kh"  # the last answer cut mid-word
    _touch_later(kb_dir / "bhyt.yaml", cut)
    outcome = store.reload()
    assert outcome.held and [p.file for p in outcome.problems] == ["bhyt.yaml"]
    assert "không kết thúc" in outcome.problems[0].message
    assert store.kb.entry("bhyt-tre-em") is not None
    assert store.kb.entry("bhyt-tre-em").answer.endswith("khai sinh.")  # type: ignore[union-attr]


def test_a_deliberate_small_removal_goes_live(kb_dir: Path) -> None:
    store = KnowledgeStore.open(kb_dir)
    without_last = CATEGORY_BHYT[: CATEGORY_BHYT.index("  - id: bhyt-tre-em")]
    _touch_later(kb_dir / "bhyt.yaml", without_last)
    outcome = store.reload()
    assert outcome.ok and not outcome.held and len(store.kb.entries) == 5


def test_start_up_with_errors_uses_the_last_good_snapshot(
    kb_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = tmp_path / "data" / "knowledge-snapshot"
    KnowledgeStore.open(kb_dir, snapshot_dir=snapshot)
    assert sorted(p.name for p in snapshot.iterdir()) == ["bhyt.yaml", "vneid.yaml"]
    (kb_dir / "vneid.yaml").write_text("category: vneid\ntitle: VNeID\nentries:\n  - id: x\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        store = KnowledgeStore.open(kb_dir, snapshot_dir=snapshot)
    assert len(store.kb.entries) == 6 and store.search("quên mật khẩu vneid").answered
    assert "starting on the last good copy" in caplog.text and "vneid.yaml:4" in caplog.text
    assert store.changed_on_disk()  # the watcher tries the real folder at once and tells staff what is wrong
    outcome = store.reload()
    assert not outcome.ok and any("vneid.yaml" in str(p) for p in outcome.errors)
    write_knowledge(kb_dir)  # fixed
    assert store.reload().ok and store.path == kb_dir


def test_start_up_with_errors_and_no_snapshot_exits_with_the_problems(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path / "kb")
    (folder / "vneid.yaml").write_text("category: vneid\ntitle: VNeID\nentries:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeLoadError):
        KnowledgeStore.open(folder, snapshot_dir=tmp_path / "none")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        KNOWLEDGE_DIR=str(folder),
        KNOWLEDGE_SNAPSHOT_DIR=str(tmp_path / "none"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], input="", capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "vneid.yaml:4:" in done.stderr
    assert "Không khởi động được" in done.stderr


async def test_a_held_edit_can_be_confirmed_from_the_shell(
    kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "snap"
    _touch_later(kb_dir / "thu-tuc.yaml", _topic(10))
    store = KnowledgeStore.open(kb_dir, snapshot_dir=snapshot)
    outcomes: asyncio.Queue[ReloadOutcome] = asyncio.Queue()

    async def collect(outcome: ReloadOutcome) -> None:
        await outcomes.put(outcome)

    watcher = asyncio.create_task(store.watch(collect, interval=0.05))
    try:
        _touch_later(kb_dir / "thu-tuc.yaml", _topic(4))
        held = await asyncio.wait_for(outcomes.get(), 10)
        assert held.held and len(store.kb.entries) == 16
        monkeypatch.setenv("KNOWLEDGE_DIR", str(kb_dir))
        monkeypatch.setenv("KNOWLEDGE_SNAPSHOT_DIR", str(snapshot))
        assert main(["kb", "confirm"]) == 0
        confirmed = await asyncio.wait_for(outcomes.get(), 10)
        assert confirmed.ok and len(store.kb.entries) == 10
        assert not (tmp_path / "snap.confirm").exists()  # used once
        assert sorted(p.name for p in snapshot.iterdir()) == ["bhyt.yaml", "thu-tuc.yaml", "vneid.yaml"]
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
