"""What a search returns: the decision, the best entry with its confidence, and the runners-up."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.kb.models import Entry


class Decision(StrEnum):
    """How sure the engine is: answer outright, suggest candidates, or decline."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    DECLINE = "decline"


@dataclass(frozen=True)
class Candidate:
    """An entry and its calibrated confidence in [0, 1]."""

    entry: Entry
    score: float


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one search. ``answered`` is true only for ``Decision.ANSWER``."""

    query: str
    normalized: str
    decision: Decision
    candidates: tuple[Candidate, ...]  # best first; may be non-empty even when declined

    @property
    def answered(self) -> bool:
        """True when the engine is confident enough to answer with ``best``."""
        return self.decision is Decision.ANSWER

    @property
    def best(self) -> Candidate | None:
        """The top candidate, whatever the decision."""
        return self.candidates[0] if self.candidates else None

    @property
    def confidence(self) -> float:
        """The top candidate's confidence, 0.0 when there is none."""
        return self.candidates[0].score if self.candidates else 0.0

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        """Up to three "did you mean" candidates (for SUGGEST, and for DECLINE when any are close)."""
        return self.candidates[:3] if self.decision is not Decision.ANSWER else ()
