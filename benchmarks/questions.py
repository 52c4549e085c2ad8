"""The labelled question set: loading, validation against the knowledge base, and the dev/test split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz

from bot.kb.models import KnowledgeBase
from bot.kb.normalize import fold

QUESTIONS_DIR = Path(__file__).parent / "data" / "questions"
IN_SCOPE_KINDS = ("paraphrase", "no-diacritics", "typo", "teencode", "keyword", "long")
DECLINE_KINDS = ("out-of-scope", "near-miss")
COPY_RATIO = 92  # token_sort_ratio on accent-folded text at or above which a question counts as a copy


@dataclass(frozen=True)
class Question:
    """One labelled question: ``expected`` is the entry id, or None when the bot should decline."""

    text: str
    kind: str
    expected: str | None
    file: str

    @property
    def split(self) -> str:
        """ "dev" or "test", fixed by a hash of the text so that it never depends on file order."""
        return "dev" if hashlib.sha256(self.text.encode()).digest()[0] % 2 == 0 else "test"


def load_questions(folder: Path = QUESTIONS_DIR) -> list[Question]:
    """Every labelled question under ``folder``."""
    out: list[Question] = []
    for path in sorted(folder.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text("utf-8")) or []:
            out.append(Question(str(item["q"]), str(item["kind"]), item.get("id"), path.name))
    return out


def validate(questions: list[Question], kb: KnowledgeBase) -> list[str]:
    """Problems with the set: unknown kinds or ids, and questions that copy an entry's question or variants."""
    problems: list[str] = []
    phrases = [(e.id, fold(p)) for e in kb.entries for p in (e.question, *e.variants)]
    for q in questions:
        if q.kind not in IN_SCOPE_KINDS + DECLINE_KINDS:
            problems.append(f"{q.file}: unknown kind {q.kind!r} for {q.text!r}")
        if (q.kind in DECLINE_KINDS) != (q.expected is None):
            problems.append(f"{q.file}: kind {q.kind} does not fit id {q.expected!r}: {q.text!r}")
        if q.expected is not None and kb.entry(q.expected) is None:
            problems.append(f"{q.file}: unknown id {q.expected!r}: {q.text!r}")
        folded = fold(q.text)
        for entry_id, phrase in phrases:
            if fuzz.token_sort_ratio(folded, phrase) >= COPY_RATIO:
                problems.append(f"{q.file}: copies a phrase of {entry_id}: {q.text!r}")
                break
    return problems


RESEMBLE_RATIO = 75  # token_sort_ratio on accent-folded text at or above which two questions are near-copies
RESEMBLE_SHARED = (0.7, 0.5)  # shared words over the shorter and over the longer question's words


def resembles(a: str, b: str) -> bool:
    """Whether two questions are close enough that one could have been written from the other: nearly the same
    letters in any word order, or most of the words of both shared. Calibration data must not resemble any
    labelled question, or the benchmarks would measure the engine on what it calibrated on."""
    fa, fb = fold(a), fold(b)
    if fuzz.token_sort_ratio(fa, fb) >= RESEMBLE_RATIO:
        return True
    wa, wb = set(fa.split()), set(fb.split())
    if not wa or not wb:
        return False
    shared = len(wa & wb)
    return shared / min(len(wa), len(wb)) >= RESEMBLE_SHARED[0] and shared / max(len(wa), len(wb)) >= RESEMBLE_SHARED[1]
