"""The announcement configuration files are validated like the knowledge base, with ``file:line`` problems."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.broadcast.planned import DEFAULT_ANNOUNCEMENTS, announcement_config, planned_notices
from bot.broadcast.scheduler import occurrence_key, occurrence_of
from bot.kb.loader import load_knowledge
from bot.kb.problems import Severity

ROOT = Path(__file__).resolve().parents[2]


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_shipped_files_are_valid() -> None:
    result = load_knowledge(ROOT / "knowledge")
    assert not [p for p in result.problems if p.severity is Severity.ERROR and "_" in Path(p.file).name[:1]]
    config = announcement_config(result.config.extra)
    assert config.topic("lua-dao") is not None and config.areas
    [example] = planned_notices(result.config.extra)
    assert example.active is False  # the shipped example never sends


def test_defaults_without_files(kb_dir: Path) -> None:
    result = load_knowledge(kb_dir)
    assert announcement_config(result.config.extra) == DEFAULT_ANNOUNCEMENTS
    assert planned_notices(result.config.extra) == ()


def test_mistakes_are_reported_with_file_and_line(kb_dir: Path) -> None:
    write(
        kb_dir,
        "_announcements.yaml",
        """\
        topics:
          - id: chung
            title: Thông báo chung
          - id: Lua Dao
            title: Lừa đảo
        areas:
          - id: to-1
            tittle: Tổ 1
        """,
    )
    write(
        kb_dir,
        "_schedule.yaml",
        """\
        notices:
          - id: ok-mot-lan
            text: Một lần
            at: 2026-04-01 08:00
          - id: sai-cron
            text: Sai
            cron: "61 8 * * *"
          - id: ca-hai
            text: Cả hai
            at: 2026-04-01 08:00
            cron: "0 8 * * *"
          - id: chu-de-la
            text: Chủ đề lạ
            topic: the-thao
            at: 2026-04-01 08:00
          - id: ok-mot-lan
            text: Trùng id
            at: 2026-04-01 09:00
            active_untill: 2026-05-01
        """,
    )
    result = load_knowledge(kb_dir)
    errors = [str(p) for p in result.problems if p.severity is Severity.ERROR]
    joined = "\n".join(errors)
    assert "_announcements.yaml:4:" in joined  # bad id "Lua Dao"
    assert "_announcements.yaml:8:" in joined and "tittle" in joined  # unknown key
    assert "_schedule.yaml:7:" in joined and "cron" in joined
    assert "_schedule.yaml:8:" in joined and '"at" hoặc "cron"' in joined
    assert "_schedule.yaml:14:" in joined and "the-thao" in joined
    assert "_schedule.yaml:16:" in joined and "trùng" in joined
    assert "_schedule.yaml:19:" in joined and "active_untill" in joined
    assert result.kb is None  # errors block loading, like the knowledge base
    [ok] = planned_notices(result.config.extra)
    assert ok.id == "ok-mot-lan" and ok.at == dt.datetime(2026, 4, 1, 8, 0)


def test_occurrence_of_a_cron_notice_is_stable(kb_dir: Path) -> None:
    write(kb_dir, "_schedule.yaml", 'notices:\n  - id: sang-thu-hai\n    text: x\n    cron: "0 8 * * mon"\n')
    [notice] = planned_notices(load_knowledge(kb_dir).config.extra)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    monday_8 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=zone)
    for late in (0, 5, 1800):
        now = (monday_8 + dt.timedelta(seconds=late)).astimezone(dt.UTC)
        occurrence = occurrence_of(notice, zone, now, grace_seconds=3600)
        assert occurrence == monday_8.astimezone(dt.UTC)
        assert occurrence_key(notice, zone, occurrence) == "planned:sang-thu-hai:2026-03-02T01:00Z"
