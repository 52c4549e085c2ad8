"""Accuracy of the engine on the labelled question set, against two baselines, printed as tables.

Run: ``make bench-accuracy``, or
``python -m benchmarks.accuracy [--kb knowledge] [--split all|dev|test] [--by-topic]``.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
from rapidfuzz import fuzz, process, utils

from benchmarks.questions import DECLINE_KINDS, IN_SCOPE_KINDS, Question, load_questions, validate
from bot.kb.loader import load_knowledge
from bot.kb.models import KnowledgeBase
from bot.kb.normalize import fold
from bot.kb.result import Decision
from bot.kb.search import SearchIndex

Ranker = Callable[[str], tuple[list[str], float]]  # question → ranked ids, top score


def engine_ranker(index: SearchIndex) -> Callable[[str], tuple[list[str], bool, bool]]:
    """The engine: ranked ids, whether it answered, and whether it offered them at all (answer or suggestion)."""

    def rank(text: str) -> tuple[list[str], bool, bool]:
        result = index.search(text)
        return [c.entry.id for c in result.candidates], result.answered, result.decision is not Decision.DECLINE

    return rank


def wratio_ranker(kb: KnowledgeBase, prepare: Callable[[str], str] = utils.default_process) -> Ranker:
    """Baseline: rapidfuzz WRatio over questions and variants, best phrase per entry."""
    choices = [(e.id, prepare(p)) for e in kb.entries for p in (e.question, *e.variants)]
    texts = [c[1] for c in choices]

    def rank(text: str) -> tuple[list[str], float]:
        hits = process.extract(prepare(text), texts, scorer=fuzz.WRatio, processor=None, limit=40)
        ids: list[str] = []
        for _, _, k in hits:
            if choices[k][0] not in ids:
                ids.append(choices[k][0])
        return ids[:5], (hits[0][1] / 100 if hits else 0.0)

    return rank


def bm25_ranker(kb: KnowledgeBase) -> Ranker:
    """Baseline: BM25 (bm25s) over raw lower-cased tokens of each entry's question, variants and tags."""
    docs = [" ".join((e.question, *e.variants, *e.tags)).lower().split() for e in kb.entries]
    retriever = bm25s.BM25()
    retriever.index(docs, show_progress=False)
    ids = [e.id for e in kb.entries]

    def rank(text: str) -> tuple[list[str], float]:
        tokens = text.lower().split()
        if not tokens:
            return [], 0.0
        scores = retriever.get_scores(tokens)
        order = sorted(range(len(ids)), key=lambda i: -scores[i])[:5]
        return [ids[i] for i in order if scores[i] > 0], float(scores[order[0]]) if order else 0.0

    return rank


def _best_threshold(rows: list[tuple[Question, list[str], float]]) -> float:
    """The decline threshold that maximizes a baseline's overall score (an oracle: generous to baselines)."""
    best_t, best_ok = 0.0, -1
    for t in sorted({s for _, _, s in rows} | {0.0}):
        ok = sum(_correct(q, ids, s >= t) for q, ids, s in rows)
        if ok > best_ok:
            best_t, best_ok = t, ok
    return best_t


def _correct(q: Question, ids: Sequence[str], answered: bool) -> bool:
    if q.expected is None:
        return not answered
    return answered and bool(ids) and ids[0] == q.expected


def evaluate(questions: list[Question], kb: KnowledgeBase, index: SearchIndex) -> dict[str, dict[str, float]]:
    """Scores per system: top-1 per kind, MRR@5, decline rates, overall."""
    systems: dict[str, list[tuple[Question, list[str], bool]]] = {}
    offered: dict[str, list[bool]] = {}
    engine = engine_ranker(index)
    engine_rows = [(q, *engine(q.text)) for q in questions]
    systems["engine"] = [(q, ids, answered) for q, ids, answered, _ in engine_rows]
    offered["engine"] = [shown for _, _, _, shown in engine_rows]
    baselines = (
        ("rapidfuzz WRatio", wratio_ranker(kb)),
        ("WRatio, stripped", wratio_ranker(kb, fold)),
        ("bm25s raw tokens", bm25_ranker(kb)),
    )
    for name, ranker in baselines:
        rows = [(q, *ranker(q.text)) for q in questions]
        t = _best_threshold(rows)
        systems[name] = [(q, ids, s >= t) for q, ids, s in rows]
        offered[name] = [s >= t for _, _, s in rows]  # a baseline has no suggestions: it answers or declines
    table: dict[str, dict[str, float]] = {}
    for name, rows in systems.items():
        col: dict[str, float] = {}
        by_kind: dict[str, list[bool]] = defaultdict(list)
        rr: list[float] = []
        answered_ok: list[bool] = []
        answered_wrong: list[bool] = []
        for q, ids, answered in rows:
            if q.expected is None:
                by_kind[q.kind].append(not answered)
                continue
            by_kind[q.kind].append(bool(ids) and ids[0] == q.expected)
            answered_ok.append(answered and bool(ids) and ids[0] == q.expected)
            answered_wrong.append(answered and not (bool(ids) and ids[0] == q.expected))
            rank = ids[:5].index(q.expected) + 1 if q.expected in ids[:5] else 0
            rr.append(1.0 / rank if rank else 0.0)
        in_scope = [x for k in IN_SCOPE_KINDS for x in by_kind.get(k, [])]
        for kind in (*IN_SCOPE_KINDS, *DECLINE_KINDS):
            if by_kind.get(kind):
                col[kind] = sum(by_kind[kind]) / len(by_kind[kind])
        col["top-1 in-scope"] = sum(in_scope) / max(1, len(in_scope))
        col["answered correctly"] = sum(answered_ok) / max(1, len(answered_ok))
        col["answered wrongly"] = sum(answered_wrong) / max(1, len(answered_wrong))
        col["MRR@5"] = sum(rr) / max(1, len(rr))
        declines = [x for k in DECLINE_KINDS for x in by_kind.get(k, [])]
        col["declined (oos+near)"] = sum(declines) / max(1, len(declines))
        col["overall (strict)"] = sum(_correct(q, ids, a) for q, ids, a in rows) / max(1, len(rows))
        # A citizen is served when the right entry is answered or offered as the first suggestion, and an
        # out-of-scope question is not answered.
        served = [
            (not a) if q.expected is None else (shown and bool(ids) and ids[0] == q.expected)
            for (q, ids, a), shown in zip(rows, offered[name], strict=True)
        ]
        col["right first (answer or 1st suggestion)"] = sum(served) / max(1, len(served))
        table[name] = col
    return table


def engine_by_kind(questions: list[Question], index: SearchIndex) -> dict[str, dict[str, float]]:
    """The engine alone, one row per kind of question: top-1, MRR@5, answered correctly, answered wrongly,
    declined, and the right entry answered or offered first."""
    rows: dict[str, list[tuple[Question, list[str], bool, bool]]] = defaultdict(list)
    rank = engine_ranker(index)
    for q in questions:
        rows[q.kind].append((q, *rank(q.text)))
    table: dict[str, dict[str, float]] = {}
    for kind in (*IN_SCOPE_KINDS, *DECLINE_KINDS):
        got = rows.get(kind)
        if not got:
            continue
        n = len(got)
        top = [bool(ids) and ids[0] == q.expected for q, ids, _, _ in got]
        rr = [1.0 / (ids[:5].index(q.expected) + 1) if q.expected in ids[:5] else 0.0 for q, ids, _, _ in got]
        table[kind] = {
            "n": n,
            "top-1": sum(top) / n,
            "MRR@5": sum(rr) / n,
            "answered correctly": sum(a and t for (_, _, a, _), t in zip(got, top, strict=True)) / n,
            "answered wrongly": sum(a and not t for (_, _, a, _), t in zip(got, top, strict=True)) / n,
            "not answered": sum(not a for _, _, a, _ in got) / n,
            "right first": sum(shown and t for (_, _, _, shown), t in zip(got, top, strict=True)) / n,
        }
    return table


def engine_by_file(questions: list[Question], index: SearchIndex) -> dict[str, dict[str, float]]:
    """The engine alone, one row per question file (one topic each): in-scope top-1, answered correctly and
    wrongly, and the file's out-of-scope or near-miss questions declined."""
    rank = engine_ranker(index)
    grouped: dict[str, list[tuple[Question, list[str], bool]]] = defaultdict(list)
    for q in questions:
        ids, answered, _ = rank(q.text)
        grouped[Path(q.file).stem].append((q, ids, answered))
    table: dict[str, dict[str, float]] = {}
    for name in sorted(grouped):
        inside = [(q, ids, a) for q, ids, a in grouped[name] if q.expected is not None]
        outside = [a for q, _, a in grouped[name] if q.expected is None]
        n = max(1, len(inside))
        table[name] = {
            "n": len(inside),
            "top-1": sum(bool(ids) and ids[0] == q.expected for q, ids, _ in inside) / n,
            "answered correctly": sum(a and bool(ids) and ids[0] == q.expected for q, ids, a in inside) / n,
            "answered wrongly": sum(a and not (bool(ids) and ids[0] == q.expected) for q, ids, a in inside) / n,
            "declines": len(outside),
            "declined": sum(not a for a in outside) / max(1, len(outside)),
        }
    return table


def print_by_file(table: dict[str, dict[str, float]], title: str) -> None:
    """Print the engine's per-topic table."""
    columns = ("top-1", "answered correctly", "answered wrongly")
    print(f"\n{title}")
    print(f"| {'questions':<26} | {'n':>4} | " + " | ".join(f"{c:>18}" for c in columns) + " | declined (n) |")
    print("|" + "-" * 28 + "|" + "-" * 6 + "|" + "|".join("-" * 20 for _ in columns) + "|" + "-" * 14 + "|")
    for name, row in table.items():
        cells = " | ".join(f"{row[c]:>18.3f}" if row["n"] else f"{'':>18}" for c in columns)
        declined = f"{row['declined']:.3f} ({int(row['declines'])})" if row["declines"] else ""
        print(f"| {name:<26} | {int(row['n']):>4} | {cells} | {declined:>12} |")


def print_by_kind(table: dict[str, dict[str, float]], title: str) -> None:
    """Print the engine's per-kind table, kinds as rows."""
    columns = ("top-1", "MRR@5", "answered correctly", "answered wrongly", "not answered", "right first")
    print(f"\n{title}")
    print(f"| {'kind':<14} | {'n':>4} | " + " | ".join(f"{c:>18}" for c in columns) + " |")
    print("|" + "-" * 16 + "|" + "-" * 6 + "|" + "|".join("-" * 20 for _ in columns) + "|")
    for kind, row in table.items():
        cells = " | ".join(f"{row[c]:>18.3f}" for c in columns)
        print(f"| {kind:<14} | {int(row['n']):>4} | {cells} |")


def counts(questions: Sequence[Question]) -> dict[str, int]:
    """How many questions each row of :func:`print_table` rests on."""
    n: dict[str, int] = defaultdict(int)
    for q in questions:
        n[q.kind] += 1
    n["top-1 in-scope"] = sum(n[k] for k in IN_SCOPE_KINDS)
    n["answered correctly"] = n["answered wrongly"] = n["MRR@5"] = n["top-1 in-scope"]
    n["declined (oos+near)"] = sum(n[k] for k in DECLINE_KINDS)
    n["overall (strict)"] = n["right first (answer or 1st suggestion)"] = len(questions)
    return n


def print_table(table: dict[str, dict[str, float]], counts: dict[str, int], title: str) -> None:
    """Print one metrics table, systems as columns."""
    names = list(table)
    print(f"\n{title}")
    header = f"| {'metric':<38} | {'n':>4} | " + " | ".join(f"{n:>16}" for n in names) + " |"
    print(header)
    print("|" + "-" * 40 + "|" + "-" * 6 + "|" + "|".join("-" * 18 for _ in names) + "|")
    for metric in table[names[0]]:
        n = counts.get(metric, 0)
        cells = " | ".join(f"{table[s].get(metric, float('nan')):>16.3f}" for s in names)
        print(f"| {metric:<38} | {n if n else '':>4} | {cells} |")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the accuracy benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=Path("knowledge"))
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    parser.add_argument("--by-topic", action="store_true", help="also print a table per question file")
    args = parser.parse_args(argv)
    loaded = load_knowledge(args.kb)
    if loaded.kb is None:
        print("knowledge base has errors; run `python -m bot kb check`", file=sys.stderr)
        return 1
    questions = [q for q in load_questions() if args.split == "all" or q.split == args.split]
    problems = validate(questions, loaded.kb)
    for p in problems:
        print("question set:", p, file=sys.stderr)
    if problems:
        return 1
    index = SearchIndex(loaded.kb)
    print(f"knowledge base: {len(loaded.kb.entries)} entries; questions: {len(questions)} ({args.split})")
    table = evaluate(questions, loaded.kb, index)
    print_table(table, counts(questions), "Accuracy (top-1 per kind; declines for oos/near)")
    title = "The engine per kind (for oos/near, not answered is right; right first: answered or offered first)"
    print_by_kind(engine_by_kind(questions, index), title)
    if args.by_topic:
        print_by_file(engine_by_file(questions, index), "The engine per topic (question file)")
    print(f"\n{index.calibration.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
