"""Staff reports: grouped unanswered questions, usage numbers, the CLI and ``/thongke`` in chat."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import reports
from bot.__main__ import main
from bot.kb.store import KnowledgeStore
from bot.messages import IncomingMessage
from bot.services import Services
from bot.storage import migrate, repo
from bot.storage.db import create_engine_for, make_sessionmaker
from bot.storage.models import QuestionLog, User, utcnow
from handlers import texts
from handlers.reports import window_days
from handlers.routes import handle
from tests.conftest import migrated

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)  # the FakeClock's time: 15:00 in Hà Nội


@pytest.fixture
def sqlite_sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database only."""
    yield from migrated(sqlite_url)


def ask(
    session: Session,
    user: str,
    text: str,
    *,
    at: dt.datetime,
    decision: str = "decline",
    matched: str | None = None,
    vote: bool | None = None,
) -> QuestionLog:
    """Log one question from ``user`` at ``at`` (and a vote on it), through the data functions."""
    person = repo.touch_user(session=session, channel="test", external_id=user, now=at)
    session.flush()
    log = repo.log_question(
        session=session, user=person, raw_text=text, normalized_text=text.lower(), decision=decision,
        matched_id=matched, confidence=0.5, latency_ms=3, now=at,
    )  # fmt: skip
    if vote is not None:
        repo.record_feedback(session=session, user=person, helpful=vote, question_log_id=log.id, now=at)
    return log


def seed_unanswered(sessions: sessionmaker[Session], now: dt.datetime) -> None:
    """Three wordings of one question, two of another, one alone, a 👎 answer and an old question."""
    hour = dt.timedelta(hours=1)
    with sessions.begin() as s:
        ask(s, "a", "Làm căn cước cho con ở đâu?", at=now - 5 * hour)
        ask(s, "b", "lam can cuoc cho con o dau", at=now - 4 * hour)
        ask(s, "c", "làm căn cước cho con ở đâu vậy ạ", at=now - 3 * hour)
        ask(s, "a", "Đăng ký kết hôn cần giấy tờ gì?", at=now - 2 * hour)
        ask(s, "d", "dang ky ket hon can giay to gi", at=now - 30 * hour)
        ask(s, "e", "Giờ làm việc của phường thế nào", at=now - hour)
        ask(s, "f", "cài vneid trên iphone", at=now - hour, decision="answer", matched="vneid-cai-dat", vote=False)
        ask(s, "f", "gia hạn bhyt", at=now - hour, decision="answer", matched="bhyt-gia-han", vote=True)
        ask(s, "g", "Đăng ký kết hôn ở đâu", at=now - dt.timedelta(days=8))  # outside a 7-day window


def test_unanswered_questions_are_grouped_most_frequent_first(sessions: sessionmaker[Session], kb_dir: Path) -> None:
    seed_unanswered(sessions, NOW)
    store = KnowledgeStore.open(kb_dir)
    groups = reports.unanswered_report(sessionmaker=sessions, index=store.index, since=NOW - dt.timedelta(days=7))
    assert [g.count for g in groups] == [3, 2, 1, 1]
    first, second = groups[0], groups[1]
    assert first.representative == "Làm căn cước cho con ở đâu?"  # accented wording preferred to "lam can…"
    assert first.examples == ["làm căn cước cho con ở đâu vậy ạ"]
    assert (first.declined, first.disliked) == (3, 0)
    assert second.representative == "Đăng ký kết hôn cần giấy tờ gì?"
    assert second.last_asked == NOW - dt.timedelta(hours=2)
    [disliked] = [g for g in groups if g.disliked]
    assert disliked.representative == "cài vneid trên iphone" and disliked.answered_with == "vneid-cai-dat"
    assert disliked.closest is not None and disliked.closest.id == "vneid-cai-dat"
    assert all(g.closest is None or store.kb.entry(g.closest.id) is not None for g in groups)
    assert all("Đăng ký kết hôn ở đâu" not in (g.representative, *g.examples) for g in groups)  # too old


def test_grouping_threshold_and_identical_texts() -> None:
    at = NOW
    items = [reports.Unanswered(t, reports.DECLINED, at) for t in ("Xin giấy phép xây dựng", "xin giay phep xay dung",
             "Thủ tục xin giấy phép xây dựng nhà ở", "mất thẻ bhyt", "mất thẻ căn cước")]  # fmt: skip
    groups = reports.group_unanswered(items)
    assert [g.count for g in groups] == [3, 1, 1]
    assert groups[0].representative == "Xin giấy phép xây dựng"
    assert groups[0].examples == ["Thủ tục xin giấy phép xây dựng nhà ở"]
    loose = reports.group_unanswered(items, threshold=60)  # "mất thẻ …" now reads alike too
    assert [g.count for g in loose] == [3, 2]
    assert reports.group_unanswered([]) == []


def test_csv_has_one_row_per_group(sqlite_sessions: sessionmaker[Session], kb_dir: Path) -> None:
    seed_unanswered(sqlite_sessions, NOW)
    groups = reports.unanswered_report(
        sessionmaker=sqlite_sessions, index=KnowledgeStore.open(kb_dir).index, since=NOW - dt.timedelta(days=7)
    )
    out = io.StringIO()
    reports.write_unanswered_csv(groups, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == list(reports.CSV_COLUMNS)
    assert [int(r["count"]) for r in rows] == [g.count for g in groups]
    assert rows[0]["examples"] == "làm căn cước cho con ở đâu vậy ạ" and rows[0]["closest_id"]


def test_usage_report_counts_days_decisions_entries_votes_and_subscribers(sessions: sessionmaker[Session]) -> None:
    day1 = dt.datetime(2026, 2, 27, 16, 30, tzinfo=dt.UTC)  # 23:30 on 27/02 in Hà Nội
    day2 = dt.datetime(2026, 2, 27, 17, 30, tzinfo=dt.UTC)  # 00:30 on 28/02 in Hà Nội
    with sessions.begin() as s:
        ask(s, "a", "gia hạn bhyt", at=day1, decision="answer", matched="bhyt-gia-han", vote=True)
        ask(s, "b", "gia hạn bảo hiểm", at=day2, decision="answer", matched="bhyt-gia-han", vote=True)
        ask(s, "b", "cài vneid", at=day2, decision="answer", matched="vneid-cai-dat", vote=False)
        ask(s, "c", "vneid", at=day2, decision="suggest", matched="vneid-cai-dat")
        ask(s, "c", "hỏi linh tinh", at=day2, decision="decline")
        ask(s, "c", "hỏi linh tinh nữa", at=day2, decision="decline")
        ask(s, "z", "câu hỏi quá cũ", at=day1 - dt.timedelta(days=40), decision="answer", matched="bhyt-tre-em")
        for user, active in (("a", True), ("b", False)):
            person = repo.get_user(session=s, channel="test", external_id=user)
            assert person is not None
            repo.set_subscribed(session=s, user=person, subscribed=True)
            person.is_active = active
    with sessions() as s:
        report = reports.usage_report(
            session=s, since=NOW - dt.timedelta(days=3), until=NOW, timezone="Asia/Ho_Chi_Minh"
        )
    assert (report.questions, report.answered, report.suggested, report.declined) == (6, 3, 1, 2)
    assert report.answer_rate == pytest.approx(0.5)
    assert [(d.day.isoformat(), d.questions, d.answered) for d in report.per_day] == [
        ("2026-02-26", 0, 0), ("2026-02-27", 1, 1), ("2026-02-28", 5, 2), ("2026-03-01", 0, 0),
    ]  # fmt: skip
    assert report.top_entries == (("bhyt-gia-han", 2), ("vneid-cai-dat", 1))
    assert (report.helpful, report.unhelpful) == (2, 1)
    assert (report.askers, report.active_subscribers) == (3, 1)
    assert report.new_users == 3  # "z" first appeared 40 days ago
    text = reports.format_usage(report, window="3d")
    assert "tỉ lệ trả lời 50%" in text and "bhyt-gia-han" in text


def test_cli_reports(
    sqlite_url: str, kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kb_dir))
    assert main(["report", "usage"]) == 1  # nothing migrated yet: a clear message, not a traceback
    assert "db upgrade" in capsys.readouterr().err
    migrate.upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    seed_unanswered(make_sessionmaker(engine), utcnow())
    engine.dispose()

    assert main(["report", "unanswered", "--since", "7d", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["count"]) for r in rows] == [3, 2, 1, 1]
    assert main(["report", "unanswered", "--since", "3h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 câu hỏi") and "mục gần nhất" in out  # 2 h ago, 1 h ago and the 👎 one
    target = tmp_path / "unanswered.csv"
    assert main(["report", "unanswered", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbfcount,")  # BOM for Excel
    assert main(["report", "usage", "--since", "30d"]) == 0
    assert "Câu hỏi: 9" in capsys.readouterr().out  # the 8-day-old question too
    with pytest.raises(SystemExit):
        main(["report", "usage", "--since", "soon"])


def test_parse_window() -> None:
    assert reports.parse_window("7d") == dt.timedelta(days=7)
    assert reports.parse_window("24h") == dt.timedelta(hours=24)
    assert reports.parse_window("2w") == dt.timedelta(weeks=2)
    assert reports.parse_window("30") == dt.timedelta(days=30)
    for bad in ("", "0d", "-1d", "7x", "d"):
        with pytest.raises(ValueError):
            reports.parse_window(bad)


def staff(text: str, *, is_staff: bool = True) -> IncomingMessage:
    return IncomingMessage(channel="test", user_id="staff", chat_id="staff", text=text, is_staff=is_staff)


async def test_thongke_gives_staff_the_summary_in_vietnamese(services: Services) -> None:
    seed_unanswered(services.sessions, NOW)
    [reply] = await handle(staff("/thongke"), services)
    assert reply.text.startswith("📊 **Thống kê 7 ngày qua** (đến 15:00 01/03/2026)")
    assert "- Câu hỏi: 8 (trả lời ngay 2, gợi ý 0, chưa trả lời được 6)" in reply.text
    assert "- Tỉ lệ trả lời ngay: 25%" in reply.text
    assert "👍 1 · 👎 1" in reply.text
    assert "«Làm căn cước cho con ở đâu?» (3 lượt)" in reply.text
    assert "Cách cài đặt ứng dụng VNeID trên điện thoại? (1 lượt)" in reply.text  # top entry, by its question
    assert "28/02: 1 · 01/03: 7" in reply.text and "--since 7d" in reply.text
    [longer] = await handle(staff("/thongke 30"), services)
    assert "30 ngày" in longer.text and "Câu hỏi: 9" in longer.text and "Theo ngày" not in longer.text
    [words] = await handle(staff("thống kê"), services)
    assert words.text.startswith("📊 **Thống kê 7 ngày qua**")


async def test_thongke_is_for_staff_only_and_checks_its_argument(services: Services) -> None:
    [refused] = await handle(staff("/thongke", is_staff=False), services)
    assert refused.text == texts.STAFF_ONLY
    [usage] = await handle(staff("/thongke mười"), services)
    assert usage.text == texts.STATS_USAGE.format(max_days=365)
    [empty] = await handle(staff("/thongke 1"), services)
    assert texts.STATS_NO_QUESTIONS in empty.text
    assert window_days("/thongke@TroLySoBot 14") == 14 and window_days("/thongke 366") is None


def test_subscribers_count_ignores_blocked_users(sqlite_sessions: sessionmaker[Session]) -> None:
    with sqlite_sessions.begin() as s:
        for n in range(3):
            s.add(User(channel="test", external_id=str(n), subscribed=True, is_active=n != 0, topics=""))
    with sqlite_sessions() as s:
        report = reports.usage_report(session=s, since=NOW - dt.timedelta(days=1), until=NOW)
    assert report.active_subscribers == 2 and report.questions == 0 and report.answer_rate == 0.0


def test_suggestions_turned_down_are_reported_as_their_own_kind(
    sqlite_sessions: sessionmaker[Session], kb_dir: Path
) -> None:
    with sqlite_sessions.begin() as s:
        ask(s, "h", "trợ cấp người cao tuổi", at=NOW - dt.timedelta(hours=1), decision="suggest", vote=False)
        ask(s, "i", "tro cap nguoi cao tuoi", at=NOW - dt.timedelta(hours=2), decision="suggest", vote=False)
        ask(s, "j", "mở tài khoản ngân hàng", at=NOW - dt.timedelta(hours=1), decision="decline")
    groups = reports.unanswered_report(
        sessionmaker=sqlite_sessions, index=KnowledgeStore.open(kb_dir).index, since=NOW - dt.timedelta(days=7)
    )
    [turned_down] = [g for g in groups if g.not_taken]
    assert (turned_down.count, turned_down.not_taken, turned_down.disliked) == (2, 2, 0)
    assert "2 không chọn gợi ý nào" in reports.format_unanswered(groups, window="7 ngày")
