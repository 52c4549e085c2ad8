"""The scam checker on labelled messages: detection per signal and overall, both halves, and its speed.

Prints Markdown tables: how many scam messages are flagged 🔴/🟠 and how many genuine ones are marked 🔴, on
the dev and test halves (alternate messages of each kind; rules were written before the set) and on a fresh
set written after the rules were frozen; which signals
fire on scams and on genuine messages; how often the labelled FAQ questions would be taken for a received
message (they must stay with the FAQ); and messages per second with and without the knowledge-base entries.

Run: ``python -m benchmarks.bench_scam [--kb knowledge] [--show-misses]``.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.questions import load_questions
from bot.scam.advice import closest_entries
from bot.scam.check import Level, Verdict, analyze
from bot.scam.config import ScamConfig, load_config_file
from bot.scam.trigger import looks_like_message

DATA = Path(__file__).resolve().parent / "data" / "scam"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Message:
    """One labelled message."""

    text: str
    scam: bool
    kind: str
    source: str
    split: str


def load_messages(folder: Path = DATA) -> list[Message]:
    """Both files (within each kind, messages alternate between the dev and test halves), then the fresh sets,
    each written after the rules were frozen."""
    out: list[Message] = []
    for name, scam in (("scam.yaml", True), ("genuine.yaml", False)):
        seen: Counter[str] = Counter()
        for item in yaml.safe_load((folder / name).read_text("utf-8")):
            kind = str(item["k"])
            split = "dev" if seen[kind] % 2 == 0 else "test"
            seen[kind] += 1
            out.append(Message(str(item["t"]), scam, kind, str(item["s"]), split))
    for name in ("fresh", "fresh2"):
        for item in yaml.safe_load((folder / f"{name}.yaml").read_text("utf-8")):
            out.append(Message(str(item["t"]), bool(item["scam"]), str(item["k"]), str(item["s"]), name))
    return out


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "–"


def detection_table(messages: list[Message], verdicts: list[Verdict]) -> list[str]:
    """Overall rates per half and for the whole set."""
    lines = [
        "| half | scams | flagged 🔴/🟠 | 🔴 | genuine | genuine 🔴 | genuine 🟠 | taken when pasted: scam / genuine |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for half in ("dev", "test", "fresh", "fresh2", "all"):
        rows = [(m, v) for m, v in zip(messages, verdicts, strict=True) if half in ("all", m.split)]
        scams = [(m, v) for m, v in rows if m.scam]
        genuine = [(m, v) for m, v in rows if not m.scam]
        flagged = sum(v.level is not Level.NONE for _, v in scams)
        red = sum(v.level is Level.DANGER for _, v in scams)
        g_red = sum(v.level is Level.DANGER for _, v in genuine)
        g_orange = sum(v.level is Level.SUSPICIOUS for _, v in genuine)
        s_trig = sum(looks_like_message(m.text, v) for m, v in scams)
        g_trig = sum(looks_like_message(m.text, v) for m, v in genuine)
        lines.append(
            f"| {half} | {len(scams)} | **{_share(flagged, len(scams))}** | {_share(red, len(scams))} | "
            f"{len(genuine)} | **{_share(g_red, len(genuine))}** | {_share(g_orange, len(genuine))} | "
            f"{_share(s_trig, len(scams))} / {_share(g_trig, len(genuine))} |"
        )
    return lines


def signal_table(messages: list[Message], verdicts: list[Verdict]) -> list[str]:
    """Per signal: on how many scams and genuine messages it fires, and the scams flagged among its hits."""
    hits: dict[str, list[tuple[Message, Verdict]]] = defaultdict(list)
    for m, v in zip(messages, verdicts, strict=True):
        for code in v.codes:
            hits[code].append((m, v))
    n_scam = sum(m.scam for m in messages)
    n_genuine = len(messages) - n_scam
    lines = [
        "| signal | on scams | share of scams | on genuine | genuine marked 🔴 with it | scams flagged with it |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for code, rows in sorted(hits.items(), key=lambda kv: -len(kv[1])):
        scams = [v for m, v in rows if m.scam]
        genuine = [v for m, v in rows if not m.scam]
        flagged = sum(v.level is not Level.NONE for v in scams)
        g_red = sum(v.level is Level.DANGER for v in genuine)
        lines.append(
            f"| {code} | {len(scams)} | {_share(len(scams), n_scam)} | {len(genuine)} | "
            f"{g_red} of {n_genuine} | {_share(flagged, len(scams))} |"
        )
    return lines


def kind_table(messages: list[Message], verdicts: list[Verdict]) -> list[str]:
    """Scams flagged per kind of scam (both halves)."""
    by_kind: dict[str, list[Verdict]] = defaultdict(list)
    for m, v in zip(messages, verdicts, strict=True):
        if m.scam:
            by_kind[m.kind].append(v)
    cells = [
        f"{kind} {sum(v.level is not Level.NONE for v in vs)}/{len(vs)}" for kind, vs in sorted(by_kind.items())
    ]
    return ["Scams flagged per kind: " + ", ".join(cells)]


def faq_table(config: ScamConfig) -> list[str]:
    """How many labelled FAQ questions the router would take for a received message."""
    questions = load_questions()
    taken = [q for q in questions if looks_like_message(q.text, analyze(q.text, config), config)]
    return [
        f"FAQ questions taken for a received message: {len(taken)} of {len(questions)} "
        f"({_share(len(taken), len(questions))})" + (": " + " | ".join(q.text for q in taken[:5]) if taken else "")
    ]


def speed(messages: list[Message], config: ScamConfig, kb: Path, rounds: int) -> list[str]:
    """Messages per second: the check alone, and with the closest knowledge-base entries."""
    from bot.kb.store import KnowledgeStore

    texts = [m.text for m in messages]
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            analyze(text, config)
    check_rate = rounds * len(texts) / (time.perf_counter() - started)
    search = functools.lru_cache(maxsize=1024)(KnowledgeStore.open(kb).search)  # as the kiemtra command does
    started = time.perf_counter()
    for text in texts:
        closest_entries(search, text, analyze(text, config), config.entry_category)
    full_rate = len(texts) / (time.perf_counter() - started)
    return [
        "| measure | messages/s |",
        "|---|---:|",
        f"| check (links, wording, level) | **{check_rate:,.0f}** |",
        f"| check + closest scam entries (knowledge search) | {full_rate:,.0f} |",
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--rounds", type=int, default=10, help="passes over the set for the speed of the check")
    parser.add_argument("--show-misses", action="store_true", help="print missed scams and genuine 🔴")
    args = parser.parse_args(argv)
    config, problems = load_config_file(args.kb)
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    messages = load_messages()
    verdicts = [analyze(m.text, config) for m in messages]
    out = [f"{len(messages)} labelled messages ({sum(m.scam for m in messages)} scams)", ""]
    out += [*detection_table(messages, verdicts), "", *kind_table(messages, verdicts), ""]
    out += [*signal_table(messages, verdicts), "", *faq_table(config), ""]
    out += speed(messages, config, args.kb, args.rounds)
    print("\n".join(out))
    if args.show_misses:
        for m, v in zip(messages, verdicts, strict=True):
            if (m.scam and v.level is Level.NONE) or (not m.scam and v.level is Level.DANGER):
                print(f"\n[{m.split} {'scam' if m.scam else 'genuine'} {m.kind}] {v.level.value} {v.codes}\n  {m.text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
