"""Knowledge files sent to the bot, end to end: the real python-telegram-bot Application against the fake Bot API
(document messages, ``getFile`` and the file download over HTTP), the whole bot on SQLite, a real knowledge
folder. Staff send a file, read the check, apply it, the bot answers from it, ``/hoantac`` puts the old one back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.broadcast.service import add_staff
from bot.kb.upload import MAX_UPLOAD_BYTES, history, journal
from handlers import texts
from tests.channels.test_telegram_e2e import RunningBot, data_of, make_settings, start_bot, stop_bot
from tests.conftest import CATEGORY_VNEID
from tests.fakes.telegram_api import Call, FakeTelegram

ADMIN, LISTED_STAFF, CITIZEN = 999, 998, 1001
GROUP = -100777

NEW_ENTRY = """\
  - id: vneid-doi-so-dien-thoai
    question: Đổi số điện thoại đăng ký tài khoản VNeID như thế nào?
    variants:
      - thay số điện thoại trên vneid
    answer: |
      Bạn mang căn cước đến công an phường để cập nhật số điện thoại mới cho tài khoản VNeID.
    source: https://vneid.gov.vn
"""
NEW_ANSWER = "cập nhật số điện thoại mới cho tài khoản VNeID"
QUESTION = "đổi số điện thoại vneid thế nào"


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, kb_dir: Path, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The whole bot with an admin (999), a staff-table member (998) and a staff group."""
    settings = make_settings(fake_telegram, kb_dir, tmp_path, staff_group_chat_id=GROUP)
    running = await start_bot(fake_telegram, settings)
    await asyncio.to_thread(_add_staff, settings.database_url)
    yield running
    await stop_bot(running)


def _add_staff(url: str) -> None:
    from bot.storage.db import create_engine_for, make_sessionmaker

    engine = create_engine_for(url)
    add_staff(sessions=make_sessionmaker(engine), channel="telegram", external_id=str(LISTED_STAFF))
    engine.dispose()


async def send(bot: RunningBot, chat_id: int, name: str, content: bytes, **kwargs: object) -> Call:
    """A user sends a document; the bot's first new message in that chat."""
    before = len(bot.tg.sent(chat_id))
    bot.tg.inject_document(chat_id=chat_id, file_name=name, content=content, **kwargs)  # type: ignore[arg-type]
    return (await bot.tg.wait_for_sent(before + 1, chat_id, within=20))[before]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``text`` where ``needle`` first appears."""
    return text[: text.index(needle)].count("\n") + 1


def seen(bot: RunningBot, call: Call) -> str:
    """What the user reads."""
    return bot.tg.visible_text(call)


def kb_folder(bot: RunningBot) -> Path:
    return Path(bot.settings.knowledge_dir)


async def test_non_staff_get_a_polite_refusal_and_nothing_is_downloaded(bot: RunningBot) -> None:
    before = (kb_folder(bot) / "vneid.yaml").read_bytes()
    reply = await send(bot, CITIZEN, "vneid.yaml", b"category: vneid\n")
    assert seen(bot, reply) == texts.UPLOAD_NOT_STAFF
    assert not bot.tg.calls_to("getfile", ok=None) and not bot.tg.calls_to("download", ok=None)
    assert (kb_folder(bot) / "vneid.yaml").read_bytes() == before
    assert not history(kb_folder(bot)).exists()


async def test_broken_file_reported_with_lines_in_vietnamese(bot: RunningBot) -> None:
    broken = CATEGORY_VNEID.replace("    variants:\n      - tải vneid", "    varaints:\n      - tải vneid", 1)
    broken = broken.replace("    tags: [vneid, kích hoạt]", "    updated: 2026-02-30\n    tags: [vneid, kích hoạt]")
    reply = await send(bot, ADMIN, "vneid.yaml", broken.encode())
    body = seen(bot, reply)
    assert body.startswith("Tệp vneid.yaml có 2 lỗi nên mình chưa áp dụng")
    assert f'vneid.yaml:{line_of(broken, "varaints")}: khóa "varaints" không được phép' in body
    assert 'Có phải ý bạn là "variants"?' in body
    assert f'vneid.yaml:{line_of(broken, "updated")}: ngày "2026-02-30" không hợp lệ: ngày 30 tháng 2' in body
    assert not data_of(bot.tg, reply)  # nothing to apply

    # a Tab, and an id another file already uses: blamed on the uploaded file, naming the older place
    tabbed = CATEGORY_VNEID.replace("    tags: [vneid, mật khẩu]", "\ttags: [vneid, mật khẩu]")
    reply = await send(bot, ADMIN, "vneid.yaml", tabbed.encode())
    tab = line_of(tabbed, "\t")
    assert f"vneid.yaml:{tab}: lỗi cú pháp YAML: dòng này thụt lề bằng ký tự Tab" in seen(bot, reply)
    clash = "category: moi\ntitle: Mới\nentries:\n  - id: bhyt-gia-han\n    question: Hỏi gì?\n    answer: Đáp.\n"
    reply = await send(bot, ADMIN, "moi.yaml", clash.encode())
    assert 'moi.yaml:4: mã "bhyt-gia-han" đã dùng ở bhyt.yaml:4 (mục có trước)' in seen(bot, reply)
    assert not (kb_folder(bot) / "moi.yaml").exists()


async def test_many_errors_are_capped_with_a_count(bot: RunningBot) -> None:
    entries = "".join(f"  - id: muc-{n}\n    question: Câu {n}?\n" for n in range(20))  # no answers: 20 errors
    reply = await send(bot, ADMIN, "nhieu.yaml", f"category: nhieu\ntitle: Nhiều\nentries:\n{entries}".encode())
    body = seen(bot, reply)
    assert body.startswith("Tệp nhieu.yaml có 20 lỗi")
    assert body.count("nhieu.yaml:") == 15
    assert texts.UPLOAD_MORE_ERRORS.format(count=5).lstrip("- ") in body


async def test_apply_answers_from_the_new_entry_then_undo_brings_the_old_back(bot: RunningBot) -> None:
    folder = kb_folder(bot)
    original = (folder / "vneid.yaml").read_bytes()
    assert NEW_ANSWER not in seen(bot, await bot.say(CITIZEN, QUESTION))

    edited = CATEGORY_VNEID.replace("rồi mở ứng dụng", "rồi mở ứng dụng VNeID") + NEW_ENTRY
    summary = await send(bot, ADMIN, "vneid.yaml", edited.encode())
    body = seen(bot, summary)
    assert body.startswith("📄 Tệp vneid.yaml hợp lệ.")
    assert "sau khi áp dụng, tệp có 4 mục" in body
    assert "• Thêm 1 mục: vneid-doi-so-dien-thoai" in body and "• Sửa 1 mục: vneid-cai-dat" in body
    assert "Bỏ" not in body
    assert "cảnh báo" in body  # test entries carry no "updated" date: listed briefly, still applicable
    ok, cancel = data_of(bot.tg, summary)
    assert ok.startswith("kb:ok:") and cancel.startswith("kb:no:")
    assert (folder / "vneid.yaml").read_bytes() == original  # nothing changes before the confirm

    applied = await bot.press(ADMIN, ok, message_id=int(summary.result["message_id"]))
    assert applied.method == "editmessagetext"
    assert seen(bot, applied) == texts.UPLOAD_APPLIED.format(name="vneid.yaml", total=7).replace("**", "")
    assert (folder / "vneid.yaml").read_text(encoding="utf-8") == edited
    assert NEW_ANSWER in seen(bot, await bot.say(CITIZEN, QUESTION))

    question = await bot.say(ADMIN, "/hoantac")
    assert "Lần áp dụng gần nhất: tệp vneid.yaml, do Dân gửi lúc" in seen(bot, question)
    assert texts.UNDO_RESTORE in seen(bot, question)
    undo, keep = data_of(bot.tg, question)
    assert undo.startswith("kb:uy:") and keep.startswith("kb:un:")
    done = await bot.press(ADMIN, undo, message_id=int(question.result["message_id"]))
    assert seen(bot, done) == texts.UNDO_DONE.format(name="vneid.yaml", total=6).replace("**", "")
    assert (folder / "vneid.yaml").read_bytes() == original
    assert NEW_ANSWER not in seen(bot, await bot.say(CITIZEN, QUESTION))
    assert "mở ứng dụng và làm theo" in seen(bot, await bot.say(CITIZEN, "Cách cài đặt ứng dụng VNeID?"))

    records = journal(folder)
    assert [(r.action, r.file, r.by.user_id) for r in records] == [
        ("apply", "vneid.yaml", str(ADMIN)), ("undo", "vneid.yaml", str(ADMIN))
    ]
    assert records[1].undoes == records[0].id
    assert seen(bot, await bot.say(ADMIN, "/hoantac")) == texts.UNDO_NOTHING
    # the staff group was told of both (the admin worked in a private chat)
    group = [seen(bot, c) for c in bot.tg.sent(GROUP)]
    assert any(t.startswith("📝 Dân đã áp dụng tệp tri thức vneid.yaml lúc") for t in group)
    assert any(t.startswith("📝 Dân đã hoàn tác lần áp dụng tệp tri thức vneid.yaml lúc") for t in group)


async def test_double_confirm_applies_once(bot: RunningBot) -> None:
    folder = kb_folder(bot)
    summary = await send(bot, ADMIN, "vneid.yaml", (CATEGORY_VNEID + NEW_ENTRY).encode())
    ok = data_of(bot.tg, summary)[0]
    before = len(bot.tg.sent(ADMIN))
    message_id = int(summary.result["message_id"])
    bot.tg.inject_callback(chat_id=ADMIN, data=ok, message_id=message_id)
    bot.tg.inject_callback(chat_id=ADMIN, data=ok, message_id=message_id)
    answers = sorted(seen(bot, c) for c in (await bot.tg.wait_for_sent(before + 2, ADMIN, within=20))[before:])
    assert answers == sorted([
        texts.UPLOAD_APPLIED.format(name="vneid.yaml", total=7).replace("**", ""), texts.UPLOAD_EXPIRED
    ])
    assert [r.action for r in journal(folder)] == ["apply"]
    assert len(list((history(folder) / "versions" / "vneid.yaml").iterdir())) == 1
    assert not list((history(folder) / "pending").iterdir())


async def test_cancel_keeps_the_file_and_a_new_file_is_removed_by_undo(bot: RunningBot) -> None:
    folder = kb_folder(bot)
    topic = "category: moi\ntitle: Chủ đề mới\nentries:\n" + NEW_ENTRY
    summary = await send(bot, ADMIN, "moi.yaml", topic.encode())
    assert texts.UPLOAD_NEW_FILE.format(count=1).replace("**", "") in seen(bot, summary)
    cancelled = await bot.press(ADMIN, data_of(bot.tg, summary)[1], message_id=int(summary.result["message_id"]))
    assert seen(bot, cancelled) == texts.UPLOAD_CANCELLED.format(name="moi.yaml").replace("**", "")
    assert not (folder / "moi.yaml").exists() and not list((history(folder) / "pending").iterdir())

    summary = await send(bot, ADMIN, "moi.yaml", topic.encode())
    await bot.press(ADMIN, data_of(bot.tg, summary)[0], message_id=int(summary.result["message_id"]))
    assert (folder / "moi.yaml").exists()
    assert NEW_ANSWER in seen(bot, await bot.say(CITIZEN, QUESTION))
    question = await bot.say(ADMIN, "/hoantac")
    assert texts.UNDO_REMOVE in seen(bot, question)
    await bot.press(ADMIN, data_of(bot.tg, question)[0], message_id=int(question.result["message_id"]))
    assert not (folder / "moi.yaml").exists()
    assert NEW_ANSWER not in seen(bot, await bot.say(CITIZEN, QUESTION))


async def test_oversized_binary_and_wrong_files_refused_politely(bot: RunningBot) -> None:
    limit_kb = MAX_UPLOAD_BYTES // 1024
    big = b"# " + b"x" * (MAX_UPLOAD_BYTES + 10) + b"\n"
    reply = await send(bot, ADMIN, "vneid.yaml", big)
    assert seen(bot, reply) == texts.UPLOAD_TOO_LARGE.format(name="vneid.yaml", size=limit_kb + 1, limit=limit_kb)
    assert not bot.tg.calls_to("getfile", ok=None)  # refused on the size Telegram reported, before downloading

    reply = await send(bot, ADMIN, "vneid.yaml", big, size=100)  # a size that lies: the download is measured
    assert "lớn hơn mức tối đa" in seen(bot, reply)

    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\x00\nendobj\n"
    reply = await send(bot, ADMIN, "vneid.yaml", pdf)
    assert seen(bot, reply) == texts.UPLOAD_BINARY.format(name="vneid.yaml")
    latin = CATEGORY_VNEID.replace("Định danh", "Dinh danh").encode("utf-8").replace(b"vneid", b"vn\xe9id")
    reply = await send(bot, ADMIN, "vneid.yaml", latin)
    assert seen(bot, reply) == texts.UPLOAD_NOT_UTF8.format(name="vneid.yaml").replace("**", "")
    reply = await send(bot, ADMIN, "ho-so.pdf", pdf, mime_type="application/pdf")
    assert seen(bot, reply) == texts.UPLOAD_NOT_YAML.format(name="ho-so.pdf").replace("**", "")
    reply = await send(bot, ADMIN, "VNeID (1).yaml", CATEGORY_VNEID.encode())
    assert seen(bot, reply) == texts.UPLOAD_BAD_NAME.format(name="VNeID (1).yaml")
    assert len(bot.tg.calls_to("download")) == 3  # the lying size, the PDF, the Latin-1 file
    assert not history(kb_folder(bot)).joinpath("journal.jsonl").exists()


async def test_staff_group_upload_needs_no_mention_and_listed_staff_may_apply(bot: RunningBot) -> None:
    reply = await send(bot, GROUP, "vneid.yaml", (CATEGORY_VNEID + NEW_ENTRY).encode(), user_id=LISTED_STAFF,
                       chat_type="supergroup")
    assert seen(bot, reply).startswith("📄 Tệp vneid.yaml hợp lệ.")
    ok = data_of(bot.tg, reply)[0]
    # another member of the group cannot apply the upload of someone else
    other = await bot.press(GROUP, ok, user_id=CITIZEN, message_id=int(reply.result["message_id"]))
    assert seen(bot, other) == texts.STAFF_ONLY
    applied = await bot.press(GROUP, ok, user_id=LISTED_STAFF, message_id=int(reply.result["message_id"]))
    assert seen(bot, applied).startswith("✅ Đã áp dụng tệp vneid.yaml")
    record = journal(kb_folder(bot))[0]
    assert (record.by.channel, record.by.user_id) == ("telegram", str(LISTED_STAFF))
    assert not any(seen(bot, c).startswith("📝") for c in bot.tg.sent(GROUP))  # done in the group: no echo
    line = (history(kb_folder(bot)) / "journal.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(line)["file"] == "vneid.yaml"
