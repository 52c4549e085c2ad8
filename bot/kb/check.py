"""Quality checks beyond the schema: confusable entries and variants that miss their entry (they need the search
engine), and entries due for review (they need today's date and the review period).

:func:`check_folder` is the whole check of ``kb check``: the loader's problems, then these warnings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.kb.loader import LoadResult, load_knowledge
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.problems import Problem, Severity
from bot.kb.result import Decision
from bot.kb.search import SearchIndex

CONFUSABLE_MARGIN = 0.05


def retrieval_warnings(index: SearchIndex, *, only_file: str | None = None) -> list[Problem]:
    """Search every question and variant (of the entries of ``only_file`` when given); warn where it retrieves
    another entry or sits too close to one."""
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    for entry in index.entries:
        if only_file is not None and entry.file != only_file:
            continue
        for phrase in (entry.question, *entry.variants):
            result = index.search(phrase)
            best = result.best
            if best is None or best.entry.id != entry.id:
                other = f' mà lại ra mục "{best.entry.id}"' if best else ""
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f'câu "{phrase}" của mục "{entry.id}" không tìm ra chính mục này{other}: hãy viết rõ '
                        "hơn hoặc bỏ câu này [a question or variant does not retrieve its own entry]",
                        Severity.WARNING,
                    )
                )
                continue
            for runner in result.candidates[1:2]:
                pair = tuple(sorted((entry.id, runner.entry.id)))
                if (
                    runner.score >= best.score - CONFUSABLE_MARGIN
                    and result.decision is not Decision.DECLINE
                    and pair not in reported
                ):
                    reported.add((pair[0], pair[1]))
                    problems.append(
                        Problem(
                            entry.file,
                            entry.line,
                            f'mục "{entry.id}" dễ nhầm với mục "{runner.entry.id}" ({runner.entry.file}:'
                            f'{runner.entry.line}): câu "{phrase}" khớp gần như nhau với cả hai; hãy gộp hai mục '
                            "hoặc viết câu hỏi khác nhau rõ hơn [confusable entries]",
                            Severity.WARNING,
                        )
                    )
    return problems


@dataclass(frozen=True)
class DueEntry:
    """An entry due for review: when it was last checked, its period, and how many days it is overdue."""

    entry: Entry
    period_days: int
    overdue_days: int | None  # None: never dated; negative: dated in the future
    reason: str  # "missing", "future" or "overdue"


def review_period(entry: Entry, default_days: int) -> int:
    """The entry's own ``review`` period when it is shorter than the default, else the default."""
    return min(entry.review_days, default_days) if entry.review_days else default_days


def due_for_review(kb: KnowledgeBase, *, today: dt.date, review_days: int) -> list[DueEntry]:
    """Entries never dated, dated in the future, or checked longer ago than their review period; most overdue
    first (undated ones first of all)."""
    due: list[DueEntry] = []
    for entry in kb.entries:
        period = review_period(entry, review_days)
        if entry.updated is None:
            due.append(DueEntry(entry, period, None, "missing"))
            continue
        age = (today - entry.updated).days
        if age < 0:
            due.append(DueEntry(entry, period, age, "future"))
        elif age > period:
            due.append(DueEntry(entry, period, age - period, "overdue"))
    return sorted(due, key=lambda d: (d.overdue_days is not None, -(d.overdue_days or 0), d.entry.id))


def review_warnings(kb: KnowledgeBase, *, today: dt.date, review_days: int) -> list[Problem]:
    """``kb check`` warnings for dates in the future and for entries past their review period."""
    problems: list[Problem] = []
    for due in due_for_review(kb, today=today, review_days=review_days):
        entry = due.entry
        if due.reason == "missing":
            message = (
                f'mục "{entry.id}" chưa có ngày kiểm tra "updated": hãy đối chiếu với nguồn rồi ghi ngày đã kiểm tra '
                "[no updated date]"
            )
        elif due.reason == "future":
            message = (
                f'ngày kiểm tra "{entry.updated}" của mục "{entry.id}" nằm ở tương lai (hôm nay là {today}): '
                "hãy ghi ngày đã thật sự kiểm tra [updated date in the future]"
            )
        else:
            message = (
                f'mục "{entry.id}" kiểm tra lần cuối ngày {entry.updated}, đã quá hạn rà soát {due.overdue_days} '
                f'ngày (hạn {due.period_days} ngày): hãy đối chiếu lại với nguồn và cập nhật "updated" '
                "[due for review]"
            )
        problems.append(Problem(entry.file, entry.line, message, Severity.WARNING))
    return problems


@dataclass(frozen=True)
class FolderCheck:
    """The outcome of :func:`check_folder`: the load, every problem (sorted by place), the index when it loaded."""

    result: LoadResult
    problems: list[Problem]
    index: SearchIndex | None

    @property
    def errors(self) -> list[Problem]:
        """The problems that block loading."""
        return [p for p in self.problems if p.severity is Severity.ERROR]


def check_folder(
    path: Path,
    *,
    review_days: int,
    today: dt.date,
    display: Callable[[Path], str] = str,
    only_file: str | None = None,
    calibration_from: SearchIndex | None = None,
) -> FolderCheck:
    """Everything ``kb check`` reports for the knowledge at ``path``: schema errors and warnings, retrieval and
    review warnings.

    ``only_file`` limits the retrieval and review warnings to one file (named as ``display`` names it);
    ``calibration_from`` reuses a live index's calibration instead of fitting a new one (as a reload does), so
    checking a changed folder takes about the time the index takes to build.
    """
    result = load_knowledge(path, display=display)
    problems = list(result.problems)
    index: SearchIndex | None = None
    if result.kb is not None:
        index = SearchIndex(result.kb, calibrate=calibration_from is None)
        if calibration_from is not None:
            index.adopt_calibration(calibration_from)
        problems += retrieval_warnings(index, only_file=only_file)
        reviews = review_warnings(result.kb, today=today, review_days=review_days)
        problems += [p for p in reviews if only_file is None or p.file == only_file]
    return FolderCheck(result, sorted(problems, key=lambda p: (p.file, p.line)), index)
