"""Problems found in knowledge files, reported as ``file:line: message`` for staff."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """An error blocks loading; a warning is printed but the knowledge base still loads."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place in one file."""

    file: str
    line: int
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        prefix = "" if self.severity is Severity.ERROR else "cảnh báo (warning): "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class KnowledgeLoadError(Exception):
    """The knowledge base has errors; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity is Severity.ERROR]
        first = "; ".join(str(p) for p in errors[:3])
        super().__init__(f"{len(errors)} error(s) in the knowledge base: {first}")
