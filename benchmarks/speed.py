"""Speed and memory of the knowledge engine on synthetic knowledge bases of growing size, printed as a Markdown table.

Synthetic bases are derived from the real one: the real entries are cycled, given new unique ids and perturbed
deterministically (a few syllables from the knowledge base's own vocabulary are inserted or swapped), then written
as ordinary topic files into a temporary folder, so that the measured load includes YAML parsing and validation.

Run: ``python -m benchmarks.speed [--sizes 100,1000,20000] [--queries N] [--kb knowledge] [--semantic]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from benchmarks.questions import load_questions
from bot.kb.calibration import FUSION_WEIGHTS
from bot.kb.loader import load_knowledge
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.store import KnowledgeStore

FILE_SIZE = 500  # entries per synthetic topic file
ASK_SIZE = 1000  # knowledge-base size for the `ask` throughput and word-segmentation rows
ASK_LINES = 2000  # about this many questions are piped into one `ask` process
TRACEMALLOC_MAX = 1000  # tracemalloc slows loading several-fold: measure its peak only up to this size
SEED = 20260301
SYLLABLE = re.compile(r"^[^\W\d_]+$")  # letters only: no digits, punctuation or Markdown
P99_TARGETS_MS = {1000: 5.0, 20000: 30.0}
LOAD_TARGETS_S = {1000: 1.0}
ASK_TARGET_QPS = 500.0
# With the embedding model on, the targets are the model's (it costs 15-20 lexical searches per question).
SEMANTIC_P99_TARGETS_MS = {1000: 80.0, 20000: 120.0}
SEMANTIC_LOAD_TARGETS_S = {1000: 60.0}
SEMANTIC_ASK_TARGET_QPS = 100.0
RELOAD_TARGET_S = 1.0  # an edit goes live within a second


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    measure: str
    size: str
    value: str
    target: str = ""
    status: str = ""


def vocabulary(kb: KnowledgeBase) -> list[str]:
    """Distinct syllables of the knowledge base's questions and variants, lower-cased, in a stable order."""
    seen: dict[str, None] = {}
    for entry in kb.entries:
        for phrase in (entry.question, *entry.variants):
            for token in phrase.lower().split():
                token = token.strip(".,;:!?\"'()")
                if SYLLABLE.match(token):
                    seen.setdefault(token, None)
    return list(seen)


def perturb(text: str, rng: random.Random, vocab: Sequence[str], edits: int, *, swap: bool = True) -> str:
    """``text`` with ``edits`` syllables inserted (or, when ``swap``, sometimes two neighbours swapped)."""
    words = text.split(" ")
    for _ in range(edits):
        if swap and len(words) > 2 and rng.random() < 0.4:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        else:
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
    return " ".join(words)


def synthetic_entries(kb: KnowledgeBase, size: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``size`` entry mappings (the knowledge schema's keys) cycling through the real entries, each one perturbed."""
    rng = random.Random(seed)
    vocab = vocabulary(kb)
    real = kb.entries
    out: list[dict[str, Any]] = []
    for n in range(size):
        entry: Entry = real[n % len(real)]
        k = n // len(real)
        item: dict[str, Any] = {
            "id": f"{entry.id}-s{k}",
            "question": perturb(entry.question, rng, vocab, rng.randint(1, 3)),
        }
        if entry.variants:
            item["variants"] = [perturb(v, rng, vocab, rng.randint(1, 2)) for v in entry.variants]
        item["answer"] = perturb(entry.answer, rng, vocab, rng.randint(1, 3), swap=False)
        if entry.tags:
            item["tags"] = list(entry.tags)
        if entry.source:
            item["source"] = entry.source
        if entry.updated:
            item["updated"] = entry.updated
        out.append(item)
    return out


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, the way staff write answers."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def write_knowledge(folder: Path, entries: Sequence[dict[str, Any]]) -> None:
    """Write ``entries`` as topic files of at most :data:`FILE_SIZE` entries into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(entries), FILE_SIZE)):
        slug = f"synth-{number:03d}"
        chunk = list(entries[start : start + FILE_SIZE])
        topic = {"category": slug, "title": f"Chủ đề tổng hợp {number}", "entries": chunk}
        text = yaml.dump(topic, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
        (folder / f"{slug}.yaml").write_text(text, "utf-8")


def rss_kib() -> int:
    """Resident set size of this process now, in KiB (0 where /proc is not available)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values``, by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latencies_ms(func: Callable[[str], object], texts: Sequence[str], warmup: int = 20) -> list[float]:
    """Per-call wall time of ``func`` over ``texts`` in ms, after ``warmup`` untimed calls."""
    for text in texts[:warmup]:
        func(text)
    out: list[float] = []
    for text in texts:
        start = time.perf_counter()
        func(text)
        out.append((time.perf_counter() - start) * 1000)
    return out


def verdict(ok: bool) -> str:
    """The status column."""
    return "met" if ok else "missed"


def measure_size(kb: KnowledgeBase, size: int, texts: Sequence[str], root: Path) -> tuple[list[Row], KnowledgeStore]:
    """Build, load and search one synthetic knowledge base; the rows and the open store."""
    label = f"{size:,}"
    folder = root / f"kb-{size}"
    start = time.perf_counter()
    entries = synthetic_entries(kb, size)
    write_knowledge(folder, entries)
    generate_s = time.perf_counter() - start

    gc.collect()
    rss_before = rss_kib()
    start = time.perf_counter()
    store = KnowledgeStore.open(folder)
    load_s = time.perf_counter() - start
    rss_delta = rss_kib() - rss_before
    assert len(store.kb.entries) == size, f"expected {size} entries, loaded {len(store.kb.entries)}"

    start = time.perf_counter()
    KnowledgeStore.open(folder)
    reopen_s = time.perf_counter() - start

    peak: int | None = None
    if size <= TRACEMALLOC_MAX:
        tracemalloc.start()
        KnowledgeStore.open(folder)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        gc.collect()

    model = store.index.semantic
    embedded = model.embedded if model is not None else 0
    search_ms = latencies_ms(store.search, texts)
    model_runs = (model.embedded - embedded) if model is not None else 0
    p50, p99 = percentile(search_ms, 50), percentile(search_ms, 99)
    semantic = model is not None
    forced: list[float] = []
    if semantic:
        # The calibration decides how often the model runs; this is its cost when it runs for every question.
        index = store.index
        kept = (index.calibration, index.fusion_weight)
        index.calibration = replace(kept[0], answer_at=1.0, agree_at=0.0, agree_margin=0.0)
        index.fusion_weight = max(FUSION_WEIGHTS)
        forced = latencies_ms(index.search, texts)
        index.calibration, index.fusion_weight = kept
    reload_s, calibrated_s = measure_reload(store, folder, entries)
    load_target = (SEMANTIC_LOAD_TARGETS_S if semantic else LOAD_TARGETS_S).get(size)
    p99_target = (SEMANTIC_P99_TARGETS_MS if semantic else P99_TARGETS_MS).get(size)
    rows = [
        Row("generate + write YAML (not the engine)", label, f"{generate_s:.2f} s"),
        Row(
            "load + validate + index (`KnowledgeStore.open`)",
            label,
            f"{load_s:.3f} s",
            f"≤ {load_target:g} s" if load_target else "",
            verdict(load_s <= load_target) if load_target else "",
        ),
        Row("open again (embeddings and calibration cached)", label, f"{reopen_s:.3f} s"),
        Row(
            "reload after editing one entry, until it answers",
            label,
            f"{reload_s:.3f} s",
            f"≤ {RELOAD_TARGET_S:g} s",
            verdict(reload_s <= RELOAD_TARGET_S),
        ),
        Row("… until its own calibration replaces the previous one", label, f"{calibrated_s:.1f} s"),
        Row("RSS growth after open", label, f"{rss_delta / 1024:.1f} MiB"),
        Row(
            "tracemalloc peak during open",
            label,
            f"{peak / 2**20:.1f} MiB" if peak is not None else f"skipped (> {TRACEMALLOC_MAX:,} entries)",
        ),
        Row(
            "searches that ran the model",
            label,
            f"{model_runs / (len(search_ms) + min(20, len(texts))):.0%}" if semantic else "model off",
        ),
        Row("calibration chosen", label, store.index.calibration.summary().removeprefix("calibration: ")),
        Row("search p50", label, f"{p50:.2f} ms"),
        Row(
            "search p99",
            label,
            f"{p99:.2f} ms",
            f"≤ {p99_target:g} ms" if p99_target else "",
            verdict(p99 <= p99_target) if p99_target else "",
        ),
    ]
    if forced:
        p99_forced = percentile(forced, 99)
        rows += [
            Row("search p50, model asked for every question", label, f"{percentile(forced, 50):.2f} ms"),
            Row(
                "search p99, model asked for every question",
                label,
                f"{p99_forced:.2f} ms",
                f"≤ {p99_target:g} ms" if p99_target else "",
                verdict(p99_forced <= p99_target) if p99_target else "",
            ),
        ]
    return rows, store


def measure_reload(store: KnowledgeStore, folder: Path, entries: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """Edit one entry's answer on disk, then time the reload until the new version answers, and until the
    recalibration that follows in the background is done."""
    changed = [dict(e) for e in entries]
    changed[len(changed) // 2]["answer"] += "\n\nMang theo căn cước khi đến làm thủ tục."
    write_knowledge(folder, changed)
    start = time.perf_counter()
    outcome = store.reload(confirm=True)
    reload_s = time.perf_counter() - start
    assert outcome.ok, outcome.problems
    store.index.calibrated.wait(timeout=600)
    calibrated_s = time.perf_counter() - start
    write_knowledge(folder, entries)  # as it was, for the rows that follow
    return reload_s, calibrated_s


def run_ask(folder: Path, lines: Sequence[str]) -> float:
    """Wall time in seconds of one ``python -m bot ask --kb folder --json`` process fed ``lines`` on stdin."""
    payload = "".join(line + "\n" for line in lines).encode("utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--kb", str(folder), "--json"],
        input=payload,
        capture_output=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"ask failed ({done.returncode}): {done.stderr.decode('utf-8', 'replace')[-2000:]}")
    answered = done.stdout.count(b"\n")
    if answered != len(lines):
        raise RuntimeError(f"ask printed {answered} results for {len(lines)} questions")
    return elapsed


def measure_ask(
    folder: Path, texts: Sequence[str], target: float = ASK_TARGET_QPS, label: str = f"{ASK_SIZE:,}"
) -> list[Row]:
    """``ask`` throughput over about :data:`ASK_LINES` questions, with and without start-up and index build;
    ``label``: the size column's heading for ``folder``."""
    lines = [texts[i % len(texts)] for i in range(max(ASK_LINES, len(texts)))]
    startup = min(run_ask(folder, []) for _ in range(2))
    total = run_ask(folder, lines)
    including = len(lines) / total
    excluding = len(lines) / max(total - startup, 1e-9)
    return [
        Row("`ask` start-up + index build (empty stdin)", label, f"{startup:.2f} s"),
        Row(f"`ask --json` end to end, {len(lines)} questions", label, f"{total:.2f} s"),
        Row(
            "`ask` throughput incl. start-up",
            label,
            f"{including:.0f} q/s",
            f"≥ {target:g} q/s",
            verdict(including >= target),
        ),
        Row(
            "`ask` throughput excl. start-up",
            label,
            f"{excluding:.0f} q/s",
            f"≥ {target:g} q/s",
            verdict(excluding >= target),
        ),
    ]


def measure_word_tokenize(texts: Sequence[str]) -> list[Row]:
    """Per-query cost of ``underthesea.word_tokenize`` (what a word-segmentation step would add)."""
    label = f"{ASK_SIZE:,}"
    try:
        from underthesea import word_tokenize
    except ImportError:
        return [Row("underthesea word_tokenize per query", label, "underthesea not installed")]
    word_tokenize(texts[0])
    times = latencies_ms(word_tokenize, texts, warmup=0)
    value = f"p50 {percentile(times, 50):.2f} ms, p99 {percentile(times, 99):.2f} ms"
    return [Row("underthesea word_tokenize per query", label, value)]


def render(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| measure | entries | value | target | status |", "| --- | ---: | ---: | --- | --- |"]
    lines += [f"| {r.measure} | {r.size} | {r.value} | {r.target} | {r.status} |" for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.speed``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,20000", help="comma-separated knowledge-base sizes")
    parser.add_argument("--queries", type=int, default=0, help="use only the first N labelled questions (0: all)")
    parser.add_argument("--kb", type=Path, default=Path("knowledge"), help="the real knowledge base to derive from")
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="with the embedding model on (the first load embeds every entry)",
    )
    args = parser.parse_args(argv)
    # embedding 20,000 entries takes an hour: the model is measured on its own
    os.environ["KB_SEMANTIC"] = "on" if args.semantic else "off"
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    result = load_knowledge(args.kb)
    if result.kb is None:
        for problem in result.errors:
            print(problem, file=sys.stderr)
        return 1
    kb = result.kb
    texts = [q.text for q in load_questions()]
    if args.queries > 0:
        texts = texts[: args.queries]

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="speed-kb-") as tmp:
        root = Path(tmp)
        # A cache of its own (embeddings, index rows, calibrations): a first load is measured from scratch, never
        # from what an earlier run of the same synthetic base left behind.
        os.environ["KB_EMBEDDING_CACHE"] = str(root / "cache")
        for size in sizes:
            started = time.perf_counter()
            size_rows, store = measure_size(kb, size, texts, root)
            rows += size_rows
            del store
            gc.collect()
            print(f"size {size:,} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        ask_folder = root / f"kb-{ASK_SIZE}"
        if not ask_folder.exists():
            write_knowledge(ask_folder, synthetic_entries(kb, ASK_SIZE))
        target = SEMANTIC_ASK_TARGET_QPS if args.semantic else ASK_TARGET_QPS
        rows += measure_ask(ask_folder, texts, target)
        # The same questions on the real base they were written for: on the synthetic one the model is asked for
        # nearly every question, on a real base only where the words leave the answer open.
        rows += measure_ask(args.kb, texts, target, label=f"{len(kb.entries):,} (the real base)")
        rows += measure_word_tokenize(texts)

    print(
        f"Knowledge engine speed: {len(texts)} labelled questions, {len(kb.entries)} real entries, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
    )
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
