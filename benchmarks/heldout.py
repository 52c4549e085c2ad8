"""The shipped engine on knowledge bases written apart from it, each with its own labelled questions.

Each folder under ``benchmarks/data/heldout/`` holds a knowledge base (``knowledge/``) on a topic this project's
own base does not cover, and ``questions.yaml`` (the labelled question format of ``benchmarks/data/questions``),
written without looking at the engine and never run through it while being written. Nothing is fitted on them:
each base loads as a ward's would and calibrates itself. Run:
``python -m benchmarks.heldout [--base NAME ...] [--by-kind]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.accuracy import counts, engine_by_kind, evaluate, print_by_kind, print_table
from benchmarks.questions import load_questions, validate
from bot.kb.loader import load_knowledge
from bot.kb.search import SearchIndex

HELDOUT_DIR = Path(__file__).parent / "data" / "heldout"
SUMMARY = (
    "top-1 in-scope",
    "MRR@5",
    "answered correctly",
    "answered wrongly",
    "declined (oos+near)",
    "right first (answer or 1st suggestion)",
)


def bases(names: Sequence[str] = ()) -> list[Path]:
    """The held-out base folders, all of them or those named."""
    found = sorted(p for p in HELDOUT_DIR.iterdir() if (p / "knowledge").is_dir())
    return [p for p in found if not names or p.name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the engine on every held-out base and print one summary table (and, asked, per-kind tables)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", action="append", default=[], help="only this base (repeatable)")
    parser.add_argument("--by-kind", action="store_true", help="also print each base's full tables")
    args = parser.parse_args(argv)
    rows: list[tuple[str, int, int, int, dict[str, float], float, str]] = []
    for folder in bases(args.base):
        loaded = load_knowledge(folder / "knowledge")
        if loaded.kb is None:
            print(f"{folder.name}: knowledge base has errors; run `python -m bot kb check --kb {folder}/knowledge`")
            return 1
        questions = load_questions(folder)
        problems = validate(questions, loaded.kb)
        for p in problems:
            print(f"{folder.name}: question set: {p}", file=sys.stderr)
        if problems:
            return 1
        started = time.perf_counter()
        index = SearchIndex(loaded.kb)  # calibrates itself on its own entries, as a ward's base does
        load_s = time.perf_counter() - started
        embedded = index.semantic.embedded if index.semantic is not None else 0
        table = evaluate(questions, loaded.kb, index)
        # Questions for which the model embedded something (it runs only where it can change the outcome).
        model_runs = (index.semantic.embedded - embedded) / len(questions) if index.semantic is not None else 0.0
        n = counts(questions)
        rows.append(
            (
                folder.name,
                len(loaded.kb.entries),
                n["top-1 in-scope"],
                n["declined (oos+near)"],
                {**table["engine"], "bm25": table["bm25s raw tokens"]["top-1 in-scope"], "model runs": model_runs},
                load_s,
                index.calibration.summary(),
            )
        )
        if args.by_kind:
            print(f"\n## {folder.name}: {len(loaded.kb.entries)} entries, {len(questions)} questions")
            print_table(table, n, "Accuracy (top-1 per kind; declines for oos/near)")
            print_by_kind(engine_by_kind(questions, index), "The engine per kind")
    print("| base | entries | in scope | declines | " + " | ".join(SUMMARY) + " | BM25 top-1 | model ran | load s |")
    print("|---|---:|---:|---:|" + "---:|" * (len(SUMMARY) + 3))
    for name, entries, n_in, n_out, cells, load_s, _ in rows:
        values = " | ".join(f"{cells[k]:.3f}" for k in SUMMARY)
        runs = f"{cells['model runs']:.0%}"
        print(f"| {name} | {entries} | {n_in} | {n_out} | {values} | {cells['bm25']:.3f} | {runs} | {load_s:.1f} |")
    for name, *_, summary in rows:
        print(f"  {name}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
