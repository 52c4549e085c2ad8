"""Quality checks that need the search engine: confusable entries and variants that miss their entry."""

from __future__ import annotations

from bot.kb.problems import Problem, Severity
from bot.kb.result import Decision
from bot.kb.search import SearchIndex

CONFUSABLE_MARGIN = 0.05


def retrieval_warnings(index: SearchIndex) -> list[Problem]:
    """Search every question and variant; warn where it retrieves another entry or sits too close to one."""
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    for entry in index.entries:
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
