"""Keeping knowledge alive: review dates in ``kb check``, ``report review`` and the monthly staff reminder."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot import review
from bot.broadcast.scheduler import NoticeScheduler
from bot.kb.check import due_for_review, review_warnings
from bot.kb.loader import load_knowledge
from bot.kb.models import KnowledgeBase
from bot.settings import Settings

WriteKb = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 3)
HEAD = "category: a\ntitle: A\nentries:\n"


def _entry(entry_id: str, updated: str | None = None, review_value: str | None = None) -> str:
    text = f"  - id: {entry_id}\n    question: Câu hỏi {entry_id}?\n    answer: Trả lời {entry_id}.\n"
    text += "    source: https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh.html\n"
    if updated:
        text += f"    updated: {updated}\n"
    if review_value:
        text += f"    review: {review_value}\n"
    return text


def _kb(write_kb: WriteKb, *entries: str) -> KnowledgeBase:
    result = load_knowledge(write_kb({"a.yaml": HEAD + "".join(entries)}))
    assert result.kb is not None, result.problems
    return result.kb


def test_due_entries_are_undated_future_or_past_their_period(write_kb: WriteKb) -> None:
    kb = _kb(
        write_kb,
        _entry("fresh", "2026-11-01"),
        _entry("old", "2026-01-01"),
        _entry("older", "2025-01-01"),
        _entry("future", "2099-01-01"),
        _entry("undated"),
        _entry("fast", "2026-10-01", "hang-thang"),
        _entry("fast-but-fresh", "2026-11-20", "hang-thang"),
        _entry("long-review-is-capped", "2026-01-01", "3000"),
    )
    due = due_for_review(kb, today=TODAY, review_days=180)
    assert [(d.entry.id, d.reason) for d in due] == [
        ("undated", "missing"),
        ("older", "overdue"),
        ("long-review-is-capped", "overdue"),
        ("old", "overdue"),
        ("fast", "overdue"),
        ("future", "future"),
    ]
    by_id = {d.entry.id: d for d in due}
    assert by_id["old"].overdue_days == (TODAY - dt.date(2026, 1, 1)).days - 180
    assert by_id["fast"].period_days == 30 and by_id["fast"].overdue_days == 63 - 30


def test_review_warnings_say_what_to_do(write_kb: WriteKb) -> None:
    kb = _kb(write_kb, _entry("future", "2099-01-01"), _entry("old", "2025-06-01"), _entry("ok", "2026-12-01"))
    old, future = review_warnings(kb, today=TODAY, review_days=180)  # undated, most overdue, then future
    assert 'của mục "future" nằm ở tương lai (hôm nay là 2026-12-03)' in future.message
    assert future.message.endswith("[updated date in the future]")
    assert 'mục "old" kiểm tra lần cuối ngày 2025-06-01' in old.message and "(hạn 180 ngày)" in old.message
    assert old.message.endswith("[due for review]")
    assert all(p.severity == "warning" and p.file.endswith("a.yaml") for p in (future, old))


def test_reminder_text_lists_due_entries_or_nothing(write_kb: WriteKb) -> None:
    assert review.reminder_text(_kb(write_kb, _entry("ok", "2026-12-01")), today=TODAY, review_days=180) is None
    kb = _kb(write_kb, _entry("old", "2025-06-01"))
    text = review.reminder_text(kb, today=TODAY, review_days=180)
    assert text is not None and text.startswith("Nhắc rà soát kho tri thức hằng tháng")
    assert "- old (" in text and "kiểm tra ngày 2025-06-01" in text and "nguồn: https://dichvucong.gov.vn" in text


def test_monthly_job_sends_to_staff_through_its_target(write_kb: WriteKb) -> None:
    kb = _kb(write_kb, _entry("old", "2020-01-01"))
    sent: list[str] = []

    async def notify(text: str) -> None:
        sent.append(text)

    review.set_reminder_target(review.ReminderTarget(lambda: kb, notify, 180, "Asia/Ho_Chi_Minh"))
    try:
        asyncio.run(review.monthly_review_reminder())
    finally:
        review.set_reminder_target(None)
    assert len(sent) == 1 and "- old (" in sent[0]
    asyncio.run(review.monthly_review_reminder())  # no target: skipped, nothing raised
    assert len(sent) == 1


def test_monthly_job_is_stored_once_in_the_real_scheduler(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")

    async def run() -> tuple[set[str], str]:
        scheduler = NoticeScheduler(
            engine=engine, timezone="Asia/Ho_Chi_Minh", grace_seconds=60, on_missed=lambda *_: None
        )
        scheduler.start(paused=True)
        try:
            for _ in range(2):  # idempotent: a new leader calls it again
                scheduler.ensure_monthly(review.monthly_review_reminder, review.JOB_ID, day=1, hour=8, minute=0)
            job = scheduler.scheduler.get_job(review.JOB_ID)
            assert job is not None
            return scheduler.job_ids(), str(job.trigger)
        finally:
            scheduler.shutdown()

    ids, trigger = asyncio.run(run())
    engine.dispose()
    assert ids == {review.JOB_ID}
    assert "day='1'" in trigger and "hour='8'" in trigger


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=120,
    )


def test_kb_check_warns_on_future_and_stale_dates(write_kb: WriteKb) -> None:
    folder = write_kb({"a.yaml": HEAD + _entry("future", "2099-01-01") + _entry("old", "2000-01-01")})
    proc = _run(sys.executable, "-m", "bot", "kb", "check", "--kb", str(folder), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout
    assert "[updated date in the future]" in proc.stdout and "[due for review]" in proc.stdout
    assert "0 lỗi" in proc.stdout
    assert proc.stdout.count("[updated date in the future]") == 1 and proc.stdout.count("[due for review]") == 1


def test_report_review_lists_due_entries(write_kb: WriteKb) -> None:
    folder = write_kb({"a.yaml": HEAD + _entry("old", "2000-01-01") + _entry("fresh", "2099-12-31")})
    proc = _run(sys.executable, "-m", "bot", "report", "review", "--kb", str(folder), "--days", "30", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2 mục đến hạn rà soát (hạn chung 30 ngày")
    assert "- old (" in proc.stdout and "- fresh (" in proc.stdout and "ngày kiểm tra ở tương lai" in proc.stdout
    clean = write_kb({"a.yaml": HEAD + _entry("recent", dt.date.today().isoformat())})
    proc = _run(sys.executable, "-m", "bot", "report", "review", "--kb", str(clean), cwd=ROOT)
    assert proc.stdout.startswith("Không có mục nào đến hạn rà soát (hạn 180 ngày"), proc.stdout


def test_installed_command_checks_the_project_knowledge_from_anywhere(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("tro-ly-so")
    assert command.exists(), "the project is installed with its console script"
    env = {k: v for k, v in os.environ.items() if k != "KNOWLEDGE_DIR"}
    proc = subprocess.run(
        [str(command), "kb", "check"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Hợp lệ:" in proc.stdout and ", 0 lỗi," in proc.stdout
    assert str(ROOT / "knowledge" / "_ward.yaml") in proc.stdout  # it read the project's folder, not the cwd


def test_default_knowledge_dir_resolves_outside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOWLEDGE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings(_env_file=None).knowledge_dir == ROOT / "knowledge"  # type: ignore[call-arg]
    (tmp_path / "knowledge").mkdir()
    assert Settings(_env_file=None).knowledge_dir == Path("knowledge")  # type: ignore[call-arg]
    monkeypatch.setenv("KNOWLEDGE_DIR", "elsewhere")
    assert Settings(_env_file=None).knowledge_dir == Path("elsewhere")  # type: ignore[call-arg]
