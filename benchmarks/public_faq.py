"""Accuracy of the engine on public Vietnamese FAQ datasets it was never fitted on, printed as tables.

Each dataset gives several questions per answer. The converter writes one knowledge entry per answer (``question``
= the first of its questions, ``answer`` = the answer, no variants) into a temporary folder; every other question
of that answer is held out as a test question, as typed and with diacritics stripped. Questions of another
dataset and the chit-chat set (``benchmarks/data/questions/_chitchat-oos.yaml``) are the out-of-scope questions.
The datasets are never stored in this repository: clone them (``benchmarks/data/public/<name>/SOURCE``) and run
``python -m benchmarks.public_faq --dataset <name> --path <clone> [--oos-dataset <other> --oos-path <clone>]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from benchmarks.accuracy import counts, evaluate, print_table
from benchmarks.questions import COPY_RATIO, QUESTIONS_DIR, Question, load_questions
from bot.kb.loader import MAX_ANSWER_CHARS, SLUG, load_knowledge
from bot.kb.normalize import fold
from bot.kb.search import SearchIndex

CHUNK = 20  # entries per category when the dataset has no topic field of its own
# Rasa entity markup inside an example: "[text](entity)", "[text](entity:value)" or '[text]{"entity": ...}'
RASA_ENTITY = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
# What is left of markup typed twice over the same words: "[cơ sở]{"entity":"location"}]{"entity":"location"}"
STRAY_ENTITY = re.compile(r"\]\{\s*\"entity\"[^}]*\}")
PLACEHOLDER_BRACES = re.compile(r"\{\{|\}\}")


@dataclass(frozen=True)
class FaqItem:
    """One answer of a dataset with every question the dataset gives for it, in the dataset's order."""

    key: str  # the dataset's own name for the answer (an intent name)
    answer: str
    questions: tuple[str, ...]
    topic: str | None = None


@dataclass
class Converted:
    """A dataset written as a knowledge folder, with its held-out questions and what was left out and why."""

    folder: Path
    entries: int
    questions: list[Question]
    dropped: Counter[str] = field(default_factory=Counter)
    long_answers: int = 0  # longer than the loader's advice: kept, the loader only warns


Reader = Callable[[Path], tuple[list[FaqItem], Counter[str]]]


def _clean(text: str) -> str:
    """An example or answer as plain text: entity markup removed, whitespace collapsed."""
    return " ".join(STRAY_ENTITY.sub("", RASA_ENTITY.sub(r"\1", text)).split())


def _example_lines(block: str) -> list[str]:
    """The questions of a Rasa examples block ("- question" lines)."""
    return [_clean(line.strip()[2:]) for line in block.splitlines() if line.strip().startswith("- ")]


def _find(root: Path, *names: str) -> Path:
    """The first of ``names`` that exists under ``root`` (a clone keeps Rasa files at its root or under data/)."""
    for name in names:
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"none of {', '.join(names)} under {root}")


def read_rasa_yaml(root: Path, skip: frozenset[str] = frozenset()) -> tuple[list[FaqItem], Counter[str]]:
    """A Rasa 2 project: intents and their examples from ``nlu.yml``, each answered by ``utter_<intent>`` in
    ``domain.yml`` (the first text of the response). Intents in ``skip`` are conversation acts, not questions."""
    nlu = yaml.safe_load(_find(root, "nlu.yml", "data/nlu.yml").read_text("utf-8"))
    domain = yaml.safe_load(_find(root, "domain.yml").read_text("utf-8"))
    responses = domain.get("responses") or {}
    items: list[FaqItem] = []
    dropped: Counter[str] = Counter()
    for block in nlu.get("nlu") or []:
        intent = block.get("intent") if isinstance(block, dict) else None
        if not intent:
            continue
        if intent in skip:
            dropped["conversation intents (greetings, thanks...)"] += 1
            continue
        texts = [r.get("text") for r in responses.get(f"utter_{intent}") or [] if isinstance(r, dict)]
        answer = _clean(next((t for t in texts if isinstance(t, str) and t.strip()), ""))
        if not answer:
            dropped["intents without a text answer"] += 1
            continue
        items.append(FaqItem(intent, answer, tuple(_example_lines(str(block.get("examples") or "")))))
    return items, dropped


def read_rasa_markdown(root: Path, prefix: str = "faq/") -> tuple[list[FaqItem], Counter[str]]:
    """A Rasa 1 project with a retrieval intent: ``## intent:faq/<name>`` example lists in ``nlu.md``, answered
    by the ``* faq/<name>`` bullet of ``responses.md``. Other intents (stories, forms, statistics) are not FAQs."""
    nlu = _find(root, "data/nlu.md", "nlu.md").read_text("utf-8")
    responses = _find(root, "data/responses.md", "responses.md").read_text("utf-8")
    answers: dict[str, str] = {}
    for section in re.split(r"^## ", responses, flags=re.M)[1:]:
        bullet = re.search(r"^\*\s*(\S+)", section, flags=re.M)
        lines = re.findall(r"^\s*-\s+(.+)$", section, flags=re.M)
        if bullet and lines:
            answers[bullet.group(1)] = _clean(lines[0])
    items: list[FaqItem] = []
    dropped: Counter[str] = Counter()
    for section in re.split(r"^## intent:\s*", nlu, flags=re.M)[1:]:
        name, _, body = section.partition("\n")
        name = name.strip()
        if not name.startswith(prefix):
            dropped["intents outside the FAQ (dialogue, statistics)"] += 1
            continue
        if not answers.get(name):
            dropped["intents without a text answer"] += 1
            continue
        items.append(FaqItem(name.removeprefix(prefix), answers[name], tuple(_example_lines(body))))
    return items, dropped


@dataclass(frozen=True)
class Dataset:
    """A known public dataset: how to read its clone, and where it comes from (the SOURCE file says more)."""

    read: Reader
    url: str


DATASETS: dict[str, Dataset] = {
    "utehy": Dataset(
        lambda root: read_rasa_yaml(
            root, frozenset({"thanks", "greet", "sorry", "do_not_understand", "worried", "name_person"})
        ),
        "https://github.com/manhtrantienhn/UTEHY-bot-data",
    ),
    "corasa-covid": Dataset(read_rasa_markdown, "https://github.com/NguyenTien110/corasa"),
}


def slug(text: str, fallback: str) -> str:
    """An entry id or category slug made of ``text``: lower-case ASCII words joined by dashes."""
    value = re.sub(r"[^a-z0-9]+", "-", fold(text.replace("_", " ")).replace("đ", "d")).strip("-")
    return value if SLUG.match(value) else fallback


def convert(items: Sequence[FaqItem], folder: Path, limit: int | None = None, source: str = "") -> Converted:
    """Write ``items`` as topic files under ``folder`` and return the held-out questions; ``source`` (the
    dataset's address) goes into every entry's ``source``.

    Per answer: the first usable question becomes the entry's ``question``; the others are held out, never
    written as variants. Left out, and counted: answers with no question or no answer; repeated questions;
    questions given for two different answers (ambiguous); held-out questions that copy an entry's question
    (the same test the labelled question set applies, ``benchmarks.questions.COPY_RATIO``).
    """
    dropped: Counter[str] = Counter()
    owners: dict[str, set[int]] = defaultdict(set)
    for n, item in enumerate(items):
        for q in item.questions:
            owners[fold(q)].add(n)
    kept: list[tuple[FaqItem, list[str]]] = []
    for item in items:
        seen: set[str] = set()
        questions: list[str] = []
        for q in item.questions:
            key = fold(q)
            if not key:
                dropped["empty questions"] += 1
            elif key in seen:
                dropped["repeated questions"] += 1
            elif len(owners[key]) > 1:
                dropped["questions given for two answers"] += 1
            else:
                seen.add(key)
                questions.append(q)
        if not questions or not item.answer.strip():
            dropped["answers without a question or an answer"] += 1
            continue
        kept.append((item, questions))
    if limit is not None:
        dropped["answers beyond --limit"] += max(0, len(kept) - limit)
        kept = kept[:limit]

    ids: set[str] = set()
    by_topic: dict[str, list[dict[str, str]]] = defaultdict(list)
    titles: dict[str, str] = {}
    held: list[tuple[str, str]] = []  # (question, entry id)
    long_answers = 0
    for n, (item, questions) in enumerate(kept):
        entry_id = base = slug(item.key, f"muc-{n + 1}")
        suffix = 2
        while entry_id in ids:
            entry_id, suffix = f"{base}-{suffix}", suffix + 1
        ids.add(entry_id)
        if item.topic:
            topic = slug(item.topic, "chu-de")
            titles[topic] = item.topic
        else:
            part = n // CHUNK + 1
            topic = f"phan-{part:02d}"
            titles[topic] = f"Phần {part}"
        # "{{" starts a ward placeholder in the knowledge schema; a dataset's braces are plain text
        answer = PLACEHOLDER_BRACES.sub(lambda m: m.group(0)[0], item.answer)
        long_answers += len(answer) > MAX_ANSWER_CHARS
        entry = {"id": entry_id, "question": questions[0], "answer": answer}
        if source:
            entry["source"] = source
        by_topic[topic].append(entry)
        held += [(q, entry_id) for q in questions[1:]]

    folder.mkdir(parents=True, exist_ok=True)
    for topic, entries in by_topic.items():
        data = {"category": topic, "title": titles[topic], "entries": entries}
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
        (folder / f"{topic}.yaml").write_text(text, "utf-8")

    phrases = [fold(e["question"]) for entries in by_topic.values() for e in entries]
    out: list[Question] = []
    for text, entry_id in held:
        if process.extractOne(fold(text), phrases, scorer=fuzz.token_sort_ratio, score_cutoff=COPY_RATIO):
            dropped["held-out questions that copy an entry's question"] += 1
            continue
        out.append(Question(text, "paraphrase", entry_id, "held-out"))
    return Converted(folder, len(ids), out, dropped, long_answers)


def stripped(questions: Sequence[Question]) -> list[Question]:
    """The same questions typed without diacritics (``fold``: lower case, no marks, no punctuation)."""
    return [Question(fold(q.text), "no-diacritics", q.expected, q.file) for q in questions]


def out_of_scope(texts: Sequence[str], cap: int) -> list[Question]:
    """Up to ``cap`` of ``texts`` (evenly spread, so the sample does not depend on one topic) as out-of-scope
    questions, plus the chit-chat set."""
    unique = list(dict.fromkeys(t for t in texts if fold(t)))
    step = max(1, len(unique) // cap) if cap > 0 else 0
    sample = unique[::step][:cap] if step else []
    chitchat = [q for q in load_questions(QUESTIONS_DIR) if q.file == "_chitchat-oos.yaml"]
    return [Question(t, "out-of-scope", None, "other dataset") for t in sample] + chitchat


def main(argv: Sequence[str] | None = None) -> int:
    """Convert a public dataset, index it and print the accuracy tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--path", type=Path, required=True, help="the dataset's clone (folder)")
    parser.add_argument("--limit", type=int, default=None, help="keep the first N answers (default: all)")
    parser.add_argument("--oos-dataset", choices=sorted(DATASETS), help="another dataset: its questions are oos")
    parser.add_argument("--oos-path", type=Path, help="that dataset's clone")
    parser.add_argument("--oos-limit", type=int, default=300, help="at most this many of its questions")
    parser.add_argument("--keep", type=Path, help="write the converted knowledge folder here instead of a temp")
    args = parser.parse_args(argv)
    if (args.oos_dataset is None) != (args.oos_path is None):
        parser.error("--oos-dataset and --oos-path go together")
    started = time.perf_counter()
    items, dropped = DATASETS[args.dataset].read(args.path)
    oos_texts: list[str] = []
    if args.oos_dataset:
        oos_items, _ = DATASETS[args.oos_dataset].read(args.oos_path)
        oos_texts = [q for item in oos_items for q in item.questions]
    with tempfile.TemporaryDirectory(prefix="public-faq-") as tmp:
        dataset = DATASETS[args.dataset]
        converted = convert(items, args.keep or Path(tmp) / "knowledge", args.limit, dataset.url)
        dropped.update(converted.dropped)
        loaded = load_knowledge(converted.folder)
        if loaded.kb is None:
            for p in loaded.errors[:20]:
                print("knowledge:", p, file=sys.stderr)
            return 1
        converted_at = time.perf_counter()
        index = SearchIndex(loaded.kb)
        indexed_at = time.perf_counter()
    paraphrases = converted.questions
    oos = out_of_scope(oos_texts, args.oos_limit)
    print(
        f"{args.dataset}: {len(items)} answers read, {converted.entries} entries written, "
        f"{len(paraphrases)} held-out questions, {len(oos)} out-of-scope questions "
        f"({len(oos) - sum(q.file == '_chitchat-oos.yaml' for q in oos)} from {args.oos_dataset or 'no dataset'})"
    )
    for reason, n in sorted(dropped.items()):
        print(f"  left out: {n} {reason}")
    if converted.long_answers:
        print(f"  kept: {converted.long_answers} answers longer than {MAX_ANSWER_CHARS} characters")
    print(f"  {index.calibration.summary()}")
    index.prepare_queries([q.text for q in (*paraphrases, *oos)])
    sets = (("held-out paraphrases as typed", paraphrases), ("diacritics stripped", stripped(paraphrases)))
    for title, questions in sets:
        evaluated = [*questions, *oos]
        print_table(evaluate(evaluated, loaded.kb, index), counts(evaluated), f"{title} + out-of-scope")
        alone = [index.meaning_best(q.text) for q in questions]
        if any(i is not None for i in alone):
            right = sum(
                1
                for q, i in zip(questions, alone, strict=True)
                if i is not None and index.documents[i].id == q.expected
            )
            print(f"\nthe embedding alone ({title}): top-1 {right / len(questions):.3f}")
    done = time.perf_counter()
    print(
        f"\nelapsed: {done - started:.1f} s (convert and load {converted_at - started:.1f} s, "
        f"index and calibrate {indexed_at - converted_at:.1f} s, search {done - indexed_at:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
