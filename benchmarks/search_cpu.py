"""CPU time of the lexical search on a synthetic knowledge base, to compare two versions of the code on a machine
whose wall-clock speed varies from run to run: CPU time is not charged for time the process waits for the
processor, and the best of several passes drops the passes another process slowed.

Run it alternately in the two checkouts and compare the means over the runs:
``python -m benchmarks.search_cpu [--size 1000] [--passes 4] [--kb knowledge]``; in a checkout older than this
file, by its path from that checkout's folder (``PYTHONPATH=. python <this file>``).
The base is the one ``benchmarks.speed`` builds (the same entries for the same size); the questions are the 964
labelled ones; the embedding model stays off.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.questions import load_questions
from benchmarks.speed import percentile, synthetic_entries, write_knowledge
from bot.kb.loader import load_knowledge
from bot.kb.store import KnowledgeStore


def one_pass(store: KnowledgeStore, texts: Sequence[str]) -> list[float]:
    """The CPU time of each search, in milliseconds."""
    out = []
    for text in texts:
        start = time.process_time()
        store.search(text)
        out.append((time.process_time() - start) * 1000)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the synthetic base, search every labelled question ``--passes`` times, print the best pass."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000, help="entries in the synthetic base")
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--kb", type=Path, default=Path("knowledge"), help="the base the synthetic one is made from")
    args = parser.parse_args(argv)
    os.environ["KB_SEMANTIC"] = "off"
    kb = load_knowledge(args.kb).kb
    if kb is None:
        print("knowledge base has errors; run `python -m bot kb check`", file=sys.stderr)
        return 1
    texts = [q.text for q in load_questions()]
    with tempfile.TemporaryDirectory(prefix="search-cpu-") as tmp:
        root = Path(tmp)
        os.environ["KB_EMBEDDING_CACHE"] = str(root / "cache")
        folder = root / "kb"
        write_knowledge(folder, synthetic_entries(kb, args.size))
        store = KnowledgeStore.open(folder)
        one_pass(store, texts[:20])  # warm the caches
        passes = [one_pass(store, texts) for _ in range(max(1, args.passes))]
    best = min(passes, key=sum)
    print(
        f"Lexical search CPU time: {len(texts)} labelled questions, {args.size:,} synthetic entries, best of "
        f"{len(passes)} passes\n"
    )
    print("| measure | value |\n| --- | ---: |")
    print(f"| one pass, total | {sum(best) / 1000:.2f} s |")
    print(f"| search p50 | {percentile(best, 50):.2f} ms |")
    print(f"| search p99 | {percentile(best, 99):.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
