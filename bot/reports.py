"""Staff reports over the logged questions: what went unanswered (grouped), and how the bot is used.

``unanswered_report`` gathers declined questions and questions whose answer got a 👎 in a window, groups
near-duplicates (accent-folded text, greedy clustering with rapidfuzz ``token_set_ratio``), most frequent first,
and names for each group the entry the engine finds closest, so staff can add the question as a variant of it
or see what to write next. ``usage_report`` counts questions per day, the answer rate, the most used entries,
👍/👎 and the active subscribers. Both read the database only; the formatting helpers render them for the
command line (``python -m bot report …``); the chat command ``/thongke`` renders them in ``handlers``.
``format_review`` lists knowledge entries due for review (``report review`` and the monthly staff reminder).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.kb.check import DueEntry
from bot.kb.normalize import fold
from bot.kb.result import SearchResult
from bot.storage import repo
from bot.storage.models import Feedback, QuestionLog, User, utcnow

SIMILARITY = 80.0  # token_set_ratio (0-100) at which two questions count as the same question
MAX_QUESTIONS = 20_000  # rows read per report; enough for months of a ward's traffic
MAX_EXAMPLES = 3
TOP_ENTRIES = 10

DECLINED = "decline"
SUGGESTED = "suggest"
DISLIKED = "dislike"
NOT_TAKEN = "not_taken"  # offered suggestions, and the citizen answered "none of these"

_WINDOW = re.compile(r"^\s*(\d+)\s*([dhw]?)\s*$", re.IGNORECASE)
_UNITS = {"": "days", "d": "days", "h": "hours", "w": "weeks"}
_UNIT_LABELS = {"": "ngày", "d": "ngày", "h": "giờ", "w": "tuần"}


class Searcher(Protocol):
    """What the report needs from the knowledge engine (``KnowledgeStore.index``)."""

    def search(self, text: str, limit: int = 5) -> SearchResult:
        """Rank the entries for ``text``."""
        ...


def parse_window(text: str) -> dt.timedelta:
    """``"7d"``, ``"24h"``, ``"2w"`` or a bare number of days as a time span."""
    match = _WINDOW.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"not a time window: {text!r} (examples: 7d, 24h, 2w)")
    return dt.timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def window_label(text: str) -> str:
    """``"7d"`` as staff read it: ``"7 ngày"`` (``"24 giờ"``, ``"2 tuần"``)."""
    match = _WINDOW.match(text)
    if match is None:
        return text
    return f"{int(match.group(1))} {_UNIT_LABELS[match.group(2).lower()]}"


@dataclass(frozen=True)
class Unanswered:
    """One question staff should look at: declined by the engine, or answered and voted 👎."""

    text: str
    kind: str  # DECLINED, DISLIKED or NOT_TAKEN
    created_at: dt.datetime
    matched_id: str | None = None


@dataclass(frozen=True)
class ClosestEntry:
    """The entry the engine ranks first for a group's representative question."""

    id: str
    question: str
    score: float


@dataclass
class UnansweredGroup:
    """Questions that read alike, with the most frequent wording as the representative."""

    representative: str
    count: int = 0
    declined: int = 0
    disliked: int = 0
    not_taken: int = 0  # suggestions offered, none taken
    examples: list[str] = field(default_factory=list)
    last_asked: dt.datetime | None = None
    answered_with: str | None = None  # for 👎: the entry most often given as the answer
    closest: ClosestEntry | None = None


def collect_unanswered(*, session: Session, since: dt.datetime, limit: int = MAX_QUESTIONS) -> list[Unanswered]:
    """Declined questions, questions whose answer got a 👎, and questions whose suggestions the citizen turned
    down ("Không phải các câu trên", stored as a 👎 on the suggestion), all since ``since``."""
    items = [
        Unanswered(q.raw_text, DECLINED, q.created_at, q.matched_id)
        for q in repo.unanswered_questions(session=session, since=since, limit=limit)
    ]
    disliked = session.execute(
        select(QuestionLog.raw_text, Feedback.created_at, QuestionLog.matched_id, QuestionLog.decision)
        .join(QuestionLog, Feedback.question_log_id == QuestionLog.id)
        .where(Feedback.helpful.is_(False), Feedback.created_at >= since)
        .order_by(Feedback.created_at.desc())
        .limit(limit)
    ).all()
    items += [
        Unanswered(text, NOT_TAKEN if decision == SUGGESTED else DISLIKED, created, matched)
        for text, created, matched, decision in disliked
        if decision != DECLINED  # already counted as declined
    ]
    return items


def group_unanswered(items: Iterable[Unanswered], *, threshold: float = SIMILARITY) -> list[UnansweredGroup]:
    """Group near-duplicate questions greedily, most frequent wording first; biggest groups first."""
    by_key: dict[str, list[Unanswered]] = {}
    for item in items:
        key = fold(item.text) or item.text.strip()
        by_key.setdefault(key, []).append(item)
    keys = sorted(by_key, key=lambda k: (-len(by_key[k]), k))

    seeds: list[str] = []  # each group's first (most frequent) key; new keys are compared with these only
    members: list[list[str]] = []
    for key in keys:
        match = process.extractOne(key, seeds, scorer=fuzz.token_set_ratio, score_cutoff=threshold)
        if match is None:
            seeds.append(key)
            members.append([key])
        else:
            members[match[2]].append(key)

    groups = [_summarize([by_key[k] for k in group_keys]) for group_keys in members]
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)
    groups.sort(key=lambda g: (-g.count, -(g.last_asked or far_past).timestamp(), g.representative))
    return groups


def _wording(bucket: Sequence[Unanswered]) -> str:
    """The wording to show for identical (folded) questions: the most frequent, then the most accented."""
    counts = Counter(q.text.strip() for q in bucket)
    newest = {q.text.strip(): q.created_at for q in sorted(bucket, key=lambda q: q.created_at)}
    return max(counts, key=lambda t: (counts[t], sum(not c.isascii() for c in t), newest[t]))


def _summarize(buckets: Sequence[list[Unanswered]]) -> UnansweredGroup:
    """One group from its buckets of identical (folded) questions, the biggest bucket first."""
    newest_texts = [_wording(bucket) for bucket in buckets]
    all_items = [q for bucket in buckets for q in bucket]
    dislikes = Counter(q.matched_id for q in all_items if q.kind == DISLIKED and q.matched_id)
    return UnansweredGroup(
        representative=newest_texts[0],
        count=len(all_items),
        declined=sum(q.kind == DECLINED for q in all_items),
        disliked=sum(q.kind == DISLIKED for q in all_items),
        not_taken=sum(q.kind == NOT_TAKEN for q in all_items),
        examples=newest_texts[1 : 1 + MAX_EXAMPLES],
        last_asked=max(q.created_at for q in all_items),
        answered_with=dislikes.most_common(1)[0][0] if dislikes else None,
    )


def attach_closest(groups: Iterable[UnansweredGroup], index: Searcher) -> None:
    """Name the closest knowledge entry of every group (whatever the engine's decision)."""
    for group in groups:
        best = index.search(group.representative).best
        group.closest = None if best is None else ClosestEntry(best.entry.id, best.entry.question, best.score)


def unanswered_report(
    *,
    sessionmaker: sessionmaker[Session],
    index: Searcher,
    since: dt.datetime,
    threshold: float = SIMILARITY,
    limit: int | None = None,
) -> list[UnansweredGroup]:
    """Grouped declined and 👎 questions since ``since``, biggest first, each with its closest entry."""
    with sessionmaker() as session:
        items = collect_unanswered(session=session, since=since)
    groups = group_unanswered(items, threshold=threshold)
    if limit is not None:
        groups = groups[:limit]
    attach_closest(groups, index)
    return groups


@dataclass(frozen=True)
class DayCount:
    """Questions asked on one local day, and how many of them were answered outright."""

    day: dt.date
    questions: int
    answered: int


@dataclass(frozen=True)
class UsageReport:
    """How the bot was used between ``since`` and ``until``."""

    since: dt.datetime
    until: dt.datetime
    questions: int
    answered: int
    suggested: int
    declined: int
    per_day: tuple[DayCount, ...]
    top_entries: tuple[tuple[str, int], ...]
    helpful: int
    unhelpful: int
    askers: int  # distinct users who asked a question in the window
    new_users: int
    active_subscribers: int  # now, not in the window: subscribed and not blocked

    @property
    def answer_rate(self) -> float:
        """Share of questions answered outright (0.0 when there were none)."""
        return self.answered / self.questions if self.questions else 0.0


def usage_report(
    *,
    session: Session,
    since: dt.datetime,
    until: dt.datetime | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> UsageReport:
    """Count questions, decisions, entries, votes and subscribers between ``since`` and ``until``."""
    until = until or utcnow()
    zone = ZoneInfo(timezone)
    in_window = (QuestionLog.created_at >= since, QuestionLog.created_at < until)

    decisions: Counter[str] = Counter()
    days: Counter[dt.date] = Counter()
    answered_days: Counter[dt.date] = Counter()
    rows = session.execute(select(QuestionLog.created_at, QuestionLog.decision).where(*in_window))
    for created_at, decision in rows:
        day = created_at.astimezone(zone).date()
        decisions[decision] += 1
        days[day] += 1
        if decision == "answer":
            answered_days[day] += 1
    first, last = since.astimezone(zone).date(), (until - dt.timedelta(microseconds=1)).astimezone(zone).date()
    all_days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    per_day = tuple(DayCount(day, days[day], answered_days[day]) for day in all_days)

    top = session.execute(
        select(QuestionLog.matched_id, func.count())
        .where(*in_window, QuestionLog.decision == "answer", QuestionLog.matched_id.is_not(None))
        .group_by(QuestionLog.matched_id)
        .order_by(func.count().desc(), QuestionLog.matched_id)
        .limit(TOP_ENTRIES)
    ).all()
    votes = dict(
        session.execute(
            select(Feedback.helpful, func.count())
            .where(Feedback.created_at >= since, Feedback.created_at < until)
            .group_by(Feedback.helpful)
        ).all()
    )
    askers = session.scalar(select(func.count(func.distinct(QuestionLog.user_id))).where(*in_window)) or 0
    new_users = session.scalar(
        select(func.count()).select_from(User).where(User.first_seen >= since, User.first_seen < until)
    )
    subscribers = session.scalar(
        select(func.count()).select_from(User).where(User.subscribed.is_(True), User.is_active.is_(True))
    )
    return UsageReport(
        since=since,
        until=until,
        questions=sum(decisions.values()),
        answered=decisions["answer"],
        suggested=decisions["suggest"],
        declined=decisions["decline"],
        per_day=per_day,
        top_entries=tuple((str(entry_id), int(count)) for entry_id, count in top),
        helpful=int(votes.get(True, 0)),
        unhelpful=int(votes.get(False, 0)),
        askers=int(askers),
        new_users=int(new_users or 0),
        active_subscribers=int(subscribers or 0),
    )


# --- rendering for the command line (staff read it: Vietnamese) ----------------------------------------

CSV_COLUMNS = (
    "count",
    "declined",
    "disliked",
    "not_taken",
    "representative",
    "closest_id",
    "closest_score",
    "closest_question",
    "answered_with",
    "examples",
    "last_asked",
)


def write_unanswered_csv(groups: Iterable[UnansweredGroup], out: TextIO) -> None:
    """One CSV row per group, with a header row of :data:`CSV_COLUMNS`."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in groups:
        writer.writerow(
            [
                g.count,
                g.declined,
                g.disliked,
                g.not_taken,
                g.representative,
                g.closest.id if g.closest else "",
                f"{g.closest.score:.2f}" if g.closest else "",
                g.closest.question if g.closest else "",
                g.answered_with or "",
                " | ".join(g.examples),
                g.last_asked.isoformat(timespec="seconds") if g.last_asked else "",
            ]
        )


def format_unanswered(groups: Sequence[UnansweredGroup], *, window: str) -> str:
    """The unanswered report as text for staff."""
    if not groups:
        return f"Không có câu hỏi nào bị từ chối, bị đánh giá 👎 hay bỏ qua gợi ý trong {window} qua.\n"
    total = sum(g.count for g in groups)
    lines = [f"{total} câu hỏi chưa được trả lời tốt trong {window} qua, gộp thành {len(groups)} nhóm:", ""]
    for n, g in enumerate(groups, 1):
        kinds = []
        if g.declined:
            kinds.append(f"{g.declined} bị từ chối")
        if g.disliked:
            kinds.append(f"{g.disliked} bị 👎")
        if g.not_taken:
            kinds.append(f"{g.not_taken} không chọn gợi ý nào")
        lines.append(f"{n}. [{g.count}] {g.representative}  ({', '.join(kinds)})")
        for example in g.examples:
            lines.append(f"     cũng hỏi: {example}")
        if g.answered_with:
            lines.append(f"     đã trả lời bằng mục: {g.answered_with}")
        if g.closest:
            lines.append(f"     mục gần nhất: {g.closest.id} ({g.closest.score:.2f}) {g.closest.question}")
        else:
            lines.append("     mục gần nhất: (không có)")
    return "\n".join(lines) + "\n"


def format_usage(report: UsageReport, *, window: str) -> str:
    """The usage report as text for staff."""
    lines = [
        f"Thống kê {window} qua:",
        f"  Câu hỏi: {report.questions} (trả lời ngay {report.answered}, gợi ý {report.suggested}, "
        f"từ chối {report.declined}); tỉ lệ trả lời {report.answer_rate:.0%}",
        f"  Người hỏi: {report.askers}; người dùng mới: {report.new_users}",
        f"  Đánh giá: 👍 {report.helpful}, 👎 {report.unhelpful}",
        f"  Đang đăng ký nhận thông báo: {report.active_subscribers}",
        "",
        "  Ngày          Câu hỏi  Trả lời",
    ]
    lines += [f"  {d.day.isoformat()}  {d.questions:>7}  {d.answered:>7}" for d in report.per_day]
    if report.top_entries:
        lines += ["", "  Mục được hỏi nhiều nhất:"]
        lines += [f"  {count:>5}  {entry_id}" for entry_id, count in report.top_entries]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class StaffSummary:
    """What ``/thongke`` shows: the usage report and the biggest groups of unanswered questions."""

    usage: UsageReport
    unanswered: tuple[UnansweredGroup, ...]


def staff_summary(
    *,
    sessionmaker: sessionmaker[Session],
    index: Searcher,
    since: dt.datetime,
    until: dt.datetime,
    timezone: str,
    top_unanswered: int = 3,
) -> StaffSummary:
    """The usage report and the ``top_unanswered`` biggest unanswered groups, in one call for the chat."""
    with sessionmaker() as session:
        usage = usage_report(session=session, since=since, until=until, timezone=timezone)
        items = [q for q in collect_unanswered(session=session, since=since) if q.created_at < until]
    groups = group_unanswered(items)[:top_unanswered]
    attach_closest(groups, index)
    return StaffSummary(usage, tuple(groups))


_DUE_REASONS = {"missing": "chưa ghi ngày kiểm tra", "future": "ngày kiểm tra ở tương lai"}


def format_review(due: Sequence[DueEntry], *, today: dt.date, review_days: int, limit: int | None = None) -> str:
    """The entries due for review as plain text for staff (Vietnamese), most overdue first."""
    if not due:
        return f"Không có mục nào đến hạn rà soát (hạn {review_days} ngày, tính đến {today}).\n"
    lines = [f"{len(due)} mục đến hạn rà soát (hạn chung {review_days} ngày, tính đến {today}):", ""]
    for item in due[:limit] if limit else due:
        entry = item.entry
        state = _DUE_REASONS.get(item.reason) or (
            f"kiểm tra ngày {entry.updated}, quá hạn {item.overdue_days} ngày (hạn {item.period_days} ngày)"
        )
        lines.append(f"- {entry.id} ({entry.file}:{entry.line}): {state}")
        if entry.source:
            lines.append(f"    nguồn: {entry.source}")
    if limit and len(due) > limit:
        lines.append(f"… và {len(due) - limit} mục khác: xem bằng lệnh python -m bot report review")
    lines += ["", 'Đối chiếu từng mục với nguồn, sửa nếu cần, rồi cập nhật "updated" thành ngày đã kiểm tra.']
    return "\n".join(lines) + "\n"
