"""The core of knowledge uploads on a real folder: the check in a temporary copy, apply, undo, the kept versions,
the journal; the watcher after an explicit reload; the terminal's ``/tailen``; channels that cannot hand files over.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import pytest

from bot.channels.terminal import run_terminal
from bot.kb.loader import load_knowledge
from bot.kb.store import KnowledgeStore, ReloadOutcome
from bot.kb.upload import (
    KEEP_VERSIONS,
    Actor,
    Conflict,
    Refusal,
    UploadConflict,
    apply_upload,
    check_upload,
    digest,
    history,
    journal,
    last_undoable,
    screen,
    stage,
    undo_upload,
)
from bot.messages import Document, DocumentTooLarge, DocumentUnavailable, IncomingMessage
from bot.services import Services
from handlers import texts
from handlers.routes import handle
from tests.conftest import CATEGORY_VNEID

WHO = Actor("telegram", "999", "Chị Lan")
NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
EXTRA = """\
  - id: vneid-doi-so-dien-thoai
    question: Đổi số điện thoại đăng ký tài khoản VNeID như thế nào?
    answer: |
      Bạn mang căn cước đến công an phường để cập nhật số điện thoại mới.
"""


def check(kb_dir: Path, name: str, data: bytes):  # type: ignore[no-untyped-def]
    store = KnowledgeStore.open(kb_dir)
    return check_upload(kb_dir, name, data, live=store.index, review_days=180, today=TODAY)


def put(kb_dir: Path, name: str, data: bytes, nonce: str, now: dt.datetime = NOW) -> None:
    """Check, stage and apply ``data`` as ``name``, as a confirmed upload does."""
    checked = check(kb_dir, name, data)
    assert checked.ok, checked.errors
    stage(kb_dir, nonce, data)
    apply_upload(kb_dir, name, nonce, expected=checked.digest, base=checked.base, by=WHO, now=now)


def test_screen_refuses_names_and_bytes_that_cannot_be_knowledge() -> None:
    assert screen("vneid.yaml", CATEGORY_VNEID.encode()) is None
    assert screen("_ward.yaml", b"name: UBND\n") is None
    assert screen("../vneid.yaml", b"x: 1\n") is Refusal.NAME
    assert screen("Vneid.yaml", b"x: 1\n") is Refusal.NAME
    assert screen("vneid.yaml", b" \n\n") is Refusal.EMPTY
    assert screen("vneid.yaml", b"PK\x03\x04 word document") is Refusal.BINARY
    assert screen("vneid.yaml", b"title: a\x00b\n") is Refusal.BINARY
    assert screen("vneid.yaml", "title: Định danh\n".encode("utf-16")) is Refusal.BINARY  # NUL bytes
    assert screen("vneid.yaml", "title: Hà Nam\n".encode("cp1258")) is Refusal.NOT_UTF8


def test_check_compares_with_the_live_file_and_blames_duplicates_on_the_upload(kb_dir: Path) -> None:
    shorter = CATEGORY_VNEID[: CATEGORY_VNEID.index("  - id: vneid-quen-mat-khau")] + EXTRA
    edited = shorter.replace("công an phường để đăng ký", "công an phường gần nhất để đăng ký")
    checked = check(kb_dir, "vneid.yaml", edited.encode())
    assert checked.ok and checked.change is not None
    assert checked.change.added == ("vneid-doi-so-dien-thoai",)
    assert checked.change.changed == ("vneid-kich-hoat-muc-2",)
    assert checked.change.removed == ("vneid-quen-mat-khau",)
    assert (checked.change.entries, checked.change.new_file, checked.change.identical) == (3, False, False)
    assert checked.base == digest((kb_dir / "vneid.yaml").read_bytes())
    assert all(p.file == "vneid.yaml" for p in checked.warnings)  # only the uploaded file's warnings
    assert check(kb_dir, "vneid.yaml", (kb_dir / "vneid.yaml").read_bytes()).change.identical  # type: ignore[union-attr]

    copy = CATEGORY_VNEID.replace("category: vneid", "category: vneid-2")
    clash = check(kb_dir, "vneid-2.yaml", copy.encode())
    assert not clash.ok and clash.change is None
    assert str(clash.errors[0]) == (
        'vneid-2.yaml:4: mã "vneid-cai-dat" đã dùng ở vneid.yaml:4 (mục có trước): mỗi mục cần một mã riêng, '
        "hãy đặt mã khác cho mục này [duplicate id]"
    )
    assert not (kb_dir / "vneid-2.yaml").exists()  # the check never touches the folder


def test_apply_keeps_the_previous_version_and_the_loader_ignores_the_history(kb_dir: Path) -> None:
    original = (kb_dir / "vneid.yaml").read_bytes()
    put(kb_dir, "vneid.yaml", (CATEGORY_VNEID + EXTRA).encode(), "n1")
    assert (kb_dir / "vneid.yaml").read_text(encoding="utf-8") == CATEGORY_VNEID + EXTRA
    [record] = journal(kb_dir)
    assert (record.action, record.file, record.by, record.at) == ("apply", "vneid.yaml", WHO, NOW)
    assert record.previous is not None and (history(kb_dir) / record.previous).read_bytes() == original
    assert not list((history(kb_dir) / "pending").iterdir())
    assert not [p for p in kb_dir.iterdir() if p.name.endswith(".tmp")]
    result = load_knowledge(kb_dir)
    assert result.kb is not None and len(result.kb.entries) == 7
    assert not [p for p in result.problems if ".history" in p.file or ".history" in p.message]


def test_apply_refuses_a_file_changed_since_the_check_and_a_tampered_stage(kb_dir: Path) -> None:
    data = (CATEGORY_VNEID + EXTRA).encode()
    checked = check(kb_dir, "vneid.yaml", data)
    stage(kb_dir, "n2", data)
    edited_meanwhile = CATEGORY_VNEID.replace("VNeID", "VNeID.") .encode()
    (kb_dir / "vneid.yaml").write_bytes(edited_meanwhile)
    with pytest.raises(UploadConflict) as caught:
        apply_upload(kb_dir, "vneid.yaml", "n2", expected=checked.digest, base=checked.base, by=WHO, now=NOW)
    assert caught.value.conflict is Conflict.CHANGED
    assert (kb_dir / "vneid.yaml").read_bytes() == edited_meanwhile
    (history(kb_dir) / "pending" / "n2.yaml").write_bytes(b"category: other\n")
    with pytest.raises(UploadConflict) as caught:
        apply_upload(kb_dir, "vneid.yaml", "n2", expected=checked.digest, base=digest(edited_meanwhile), by=WHO,
                     now=NOW)
    assert caught.value.conflict is Conflict.GONE
    assert journal(kb_dir) == []


def test_versions_are_capped_and_undo_walks_back_while_they_last(kb_dir: Path) -> None:
    contents = [CATEGORY_VNEID.replace("CH Play", f"CH Play (lần {n})") for n in range(KEEP_VERSIONS + 2)]
    for n, content in enumerate(contents):
        put(kb_dir, "vneid.yaml", content.encode(), f"v{n}", NOW + dt.timedelta(minutes=n))
    assert len(list((history(kb_dir) / "versions" / "vneid.yaml").iterdir())) == KEEP_VERSIONS
    for n in reversed(range(2, len(contents))):  # the versions replaced by v2…v11 are kept
        record = last_undoable(kb_dir)
        assert record is not None and record.id == f"v{n}"
        undo_upload(kb_dir, record.id, nonce=f"u{n}", by=WHO, now=NOW + dt.timedelta(hours=1, minutes=n))
        assert (kb_dir / "vneid.yaml").read_text(encoding="utf-8") == contents[n - 1]
    with pytest.raises(UploadConflict) as caught:  # the one v1 replaced was pruned
        undo_upload(kb_dir, "v1", nonce="u1", by=WHO, now=NOW + dt.timedelta(hours=2))
    assert caught.value.conflict is Conflict.GONE
    assert (kb_dir / "vneid.yaml").read_text(encoding="utf-8") == contents[1]


def test_undo_refuses_when_the_file_was_edited_after_the_apply(kb_dir: Path) -> None:
    put(kb_dir, "moi.yaml", ("category: moi\ntitle: Mới\nentries:\n" + EXTRA).encode(), "m1")
    record = last_undoable(kb_dir)
    assert record is not None and record.previous is None  # a new file: undo removes it
    (kb_dir / "moi.yaml").write_text("category: moi\ntitle: Mới, sửa tay\nentries:\n" + EXTRA, encoding="utf-8")
    with pytest.raises(UploadConflict) as caught:
        undo_upload(kb_dir, "m1", nonce="u1", by=WHO, now=NOW)
    assert caught.value.conflict is Conflict.CHANGED
    assert (kb_dir / "moi.yaml").exists()
    with pytest.raises(UploadConflict) as caught:
        undo_upload(kb_dir, "not-the-last", nonce="u2", by=WHO, now=NOW)
    assert caught.value.conflict is Conflict.NOTHING


async def test_the_watcher_does_not_reload_what_an_explicit_reload_already_loaded(kb_dir: Path) -> None:
    store = KnowledgeStore.open(kb_dir)
    outcomes: list[ReloadOutcome] = []

    async def record(outcome: ReloadOutcome) -> None:
        outcomes.append(outcome)

    watcher = asyncio.create_task(store.watch(record, interval=0.01))
    try:
        await asyncio.sleep(0.05)  # the watcher runs and has seen the folder as it was
        # written and reloaded without yielding to the loop, as if the reload won the race with the poll
        (kb_dir / "moi.yaml").write_text("category: moi\ntitle: Mới\nentries:\n" + EXTRA, encoding="utf-8")
        assert store.reload(confirm=True).ok
        await asyncio.sleep(0.2)
        assert outcomes == []
        (kb_dir / "moi.yaml").write_text("category: moi\ntitle: Mới hơn\nentries:\n" + EXTRA, encoding="utf-8")
        for _ in range(300):
            if outcomes:
                break
            await asyncio.sleep(0.01)
        assert [o.ok for o in outcomes] == [True]  # an edit on disk is still picked up
    finally:
        watcher.cancel()


async def test_document_read_enforces_the_limit_before_and_after_fetching() -> None:
    fetched: list[int] = []

    async def fetch(limit: int) -> bytes:
        fetched.append(limit)
        return b"x" * 20

    with pytest.raises(DocumentTooLarge):
        await Document("a.yaml", size=11, fetch=fetch).read(10)
    assert fetched == []  # refused on the reported size
    with pytest.raises(DocumentTooLarge):
        await Document("a.yaml", size=None, fetch=fetch).read(10)
    assert await Document("a.yaml", size=None, fetch=fetch).read(20) == b"x" * 20
    with pytest.raises(DocumentUnavailable):
        await Document("a.yaml", size=5).read(10)


async def test_a_channel_that_cannot_fetch_files_says_so(services: Services) -> None:
    msg = IncomingMessage(channel="test", user_id="7", chat_id="7", is_staff=True,
                          document=Document("vneid.yaml", size=100))
    [reply] = await handle(msg, services)
    assert reply.text == texts.UPLOAD_NOT_HERE
    citizen = IncomingMessage(channel="test", user_id="8", chat_id="8", document=Document("vneid.yaml", size=100))
    assert (await handle(citizen, services))[0].text == texts.UPLOAD_NOT_STAFF


async def test_terminal_tailen_checks_and_applies_a_local_file(services: Services, tmp_path: Path) -> None:
    kb_dir = services.knowledge.path
    upload = tmp_path / "upload" / "vneid.yaml"
    upload.parent.mkdir()
    upload.write_text(CATEGORY_VNEID + EXTRA, encoding="utf-8")
    out = io.StringIO()
    lines = f"/tailen {tmp_path / 'khong-co.yaml'}\n/tailen {upload}\n1\n"
    await run_terminal(services, stdin=io.StringIO(lines), stdout=out, watch_interval=60)
    output = out.getvalue()
    assert texts.TERMINAL_NO_FILE.format(path=tmp_path / "khong-co.yaml") in output
    assert "Tệp vneid.yaml hợp lệ." in output and "Thêm 1 mục: vneid-doi-so-dien-thoai" in output
    assert "Đã áp dụng tệp vneid.yaml" in output
    assert (kb_dir / "vneid.yaml").read_text(encoding="utf-8") == CATEGORY_VNEID + EXTRA
    assert services.knowledge.kb.entry("vneid-doi-so-dien-thoai") is not None
    [record] = journal(kb_dir)
    assert (record.by.channel, record.by.user_id) == ("terminal", "local")


def bytes_document(name: str, data: bytes) -> Document:
    """A document whose channel hands over ``data``."""

    async def fetch(limit: int) -> bytes:
        return data

    return Document(name, size=len(data), fetch=fetch)


async def test_a_failed_reload_after_apply_keeps_the_last_good_version_and_says_so(services: Services) -> None:
    kb_dir = services.knowledge.path
    staff = IncomingMessage(channel="test", user_id="7", chat_id="7", is_staff=True, display_name="Anh Minh",
                            document=bytes_document("vneid.yaml", (CATEGORY_VNEID + EXTRA).encode()))
    [summary] = await handle(staff, services)
    ok = summary.buttons[0][0].data
    assert ok is not None and ok.startswith("kb:ok:")
    (kb_dir / "bhyt.yaml").write_text("category: bhyt\ntitle: [chưa đóng\n", encoding="utf-8")  # broken meanwhile
    press = IncomingMessage(channel="test", user_id="7", chat_id="7", is_staff=True, button_data=ok, message_id="5")
    [reply] = await handle(press, services)
    assert reply.text.startswith("Đã lưu tệp **vneid.yaml**, nhưng bot chưa dùng được nội dung mới:")
    assert "bhyt.yaml:3: lỗi cú pháp YAML" in reply.text  # as /reload reports it
    assert "Nội dung cũ vẫn đang phục vụ người dân." in reply.text
    assert reply.edit_message_id == "5"
    assert services.knowledge.kb.entry("vneid-doi-so-dien-thoai") is None  # the last good version serves
    assert services.knowledge.kb.entry("bhyt-gia-han") is not None
    assert [r.action for r in journal(kb_dir)] == ["apply"]
