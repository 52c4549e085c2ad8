"""The live store: reload swaps atomically, a broken edit keeps the old knowledge base, the watcher reloads."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.kb.problems import KnowledgeLoadError
from bot.kb.search import SearchIndex
from bot.kb.store import KnowledgeStore, ReloadOutcome
from tests.kb.conftest import TOPIC_VNEID

WriteKb = Callable[..., Path]
NEW_ENTRY = """\
  - id: vneid-doi-so-dien-thoai
    question: Đổi số điện thoại trên VNeID thế nào?
    answer: Mang căn cước đến công an cấp xã để đề nghị cập nhật số điện thoại.
    source: https://vneid.gov.vn
"""


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_open_refuses_a_broken_base(write_kb: WriteKb) -> None:
    folder = write_kb({"a.yaml": "category: a\n"})
    with pytest.raises(KnowledgeLoadError) as info:
        KnowledgeStore.open(folder)
    assert info.value.problems


def test_reload_picks_up_an_edit(write_kb: WriteKb) -> None:
    folder = write_kb()
    store = KnowledgeStore.open(folder)
    assert store.kb.entry("vneid-doi-so-dien-thoai") is None
    (folder / "vneid.yaml").write_text(TOPIC_VNEID + NEW_ENTRY, encoding="utf-8")
    outcome = store.reload()
    assert outcome.ok and outcome.entry_count == 6
    assert store.search("đổi số điện thoại vneid").best.entry.id == "vneid-doi-so-dien-thoai"  # type: ignore[union-attr]


def test_reload_keeps_the_live_calibration_until_the_new_base_has_its_own(write_kb: WriteKb) -> None:
    folder = write_kb()
    store = KnowledgeStore.open(folder)
    before = store.index.calibration
    assert before.fitted and store.index.calibrated.is_set()
    (folder / "vneid.yaml").write_text(TOPIC_VNEID + NEW_ENTRY, encoding="utf-8")
    assert store.reload().ok
    index = store.index
    assert index.calibrated.wait(120), "the background calibration did not finish"
    assert index.calibration.fitted
    assert index.calibration == SearchIndex(store.kb).calibration  # the new base's own, as a fresh load gets
    assert index.search("đổi số điện thoại vneid").best.entry.id == "vneid-doi-so-dien-thoai"  # type: ignore[union-attr]


def test_broken_edit_keeps_the_previous_base_live(write_kb: WriteKb) -> None:
    folder = write_kb()
    store = KnowledgeStore.open(folder)
    before = store.kb
    (folder / "vneid.yaml").write_text(TOPIC_VNEID + "  - id: x\n    question: [\n", encoding="utf-8")
    outcome = store.reload()
    assert not outcome.ok
    assert outcome.errors and outcome.errors[0].file.endswith("vneid.yaml") and outcome.errors[0].line >= 32
    assert store.kb is before
    assert store.search("quên mật khẩu vneid").best.entry.id == "vneid-quen-mat-khau"  # type: ignore[union-attr]


def test_related_prefers_the_same_topic(write_kb: WriteKb) -> None:
    store = KnowledgeStore.open(write_kb())
    related = store.related("vneid-kich-hoat-muc-2", limit=2)
    assert related and all(e.id != "vneid-kich-hoat-muc-2" for e in related)
    assert related[0].category == "vneid"
    assert store.related("no-such-id") == []


async def test_watch_reloads_and_reports(write_kb: WriteKb) -> None:
    folder = write_kb()
    store = KnowledgeStore.open(folder)
    outcomes: list[ReloadOutcome] = []

    async def report(outcome: ReloadOutcome) -> None:
        outcomes.append(outcome)

    task = asyncio.create_task(store.watch(report, interval=0.05))
    try:
        path = folder / "vneid.yaml"
        path.write_text(TOPIC_VNEID + "  - id: broken\n", encoding="utf-8")
        _touch_later(path)
        for _ in range(100):
            if outcomes:
                break
            await asyncio.sleep(0.05)
        assert outcomes and not outcomes[-1].ok
        path.write_text(TOPIC_VNEID + NEW_ENTRY, encoding="utf-8")
        _touch_later(path)
        _touch_later(path)
        for _ in range(100):
            if len(outcomes) >= 2:
                break
            await asyncio.sleep(0.05)
        assert outcomes[-1].ok and store.kb.entry("vneid-doi-so-dien-thoai") is not None
    finally:
        task.cancel()
