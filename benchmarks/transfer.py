"""Does the engine's tuning carry over to a knowledge base it was not fitted on?

Splits the topic files into two halves, fits both models on half A (its questions; every question about half B
counts as out of scope there) and measures on half B, then the other way round. Run:
``python -m benchmarks.transfer``. This is how the engine is judged from outside: unseen entries, unseen questions.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks.fit_confidence import fit_models
from benchmarks.questions import Question, load_questions
from bot.kb import search as engine
from bot.kb.loader import load_knowledge
from bot.kb.search import SearchIndex

HALVES = (
    ("vneid.yaml", "dich-vu-cong.yaml", "binh-dan-hoc-vu-so.yaml", "to-cong-nghe-so.yaml"),
    ("lua-dao.yaml", "thanh-toan.yaml", "chu-ky-so.yaml", "bao-hiem.yaml"),
)


def _folder(files: tuple[str, ...], root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    for f in files:
        shutil.copy(Path("knowledge") / f, folder / f)
    for config in Path("knowledge").glob("_*.yaml"):
        shutil.copy(config, folder / config.name)
    return folder


def _relabel(questions: list[Question], ids: set[str]) -> list[Question]:
    """Questions about entries outside this half become out-of-scope questions for it."""
    return [
        q if q.expected is None or q.expected in ids else replace(q, kind="out-of-scope", expected=None)
        for q in questions
    ]


def _measure(index: SearchIndex, questions: list[Question]) -> tuple[float, ...]:
    """Top-1, MRR@5, answered correctly, answered wrongly (in scope), declined (out of scope)."""
    top1 = answered = wrong = declined = n_in = n_out = 0
    rr = 0.0
    for q in questions:
        r = index.search(q.text)
        if q.expected is None:
            n_out += 1
            declined += not r.answered
        else:
            n_in += 1
            ids = [c.entry.id for c in r.candidates[:5]]
            right = bool(ids) and ids[0] == q.expected
            top1 += right
            rr += 1 / (ids.index(q.expected) + 1) if q.expected in ids else 0.0
            answered += right and r.answered
            wrong += r.answered and not right
    n = max(1, n_in)
    return top1 / n, rr / n, answered / n, wrong / n, declined / max(1, n_out)


def main() -> int:
    """Fit on each half, measure on the other, print a table."""
    questions = load_questions()
    print("| fitted on | measured on | top-1 in-scope | MRR@5 | answered correctly | answered wrongly | declined |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = [_folder(files, root, f"half{k}") for k, files in enumerate(HALVES)]
        indexes = []
        for folder in folders:
            kb = load_knowledge(folder).kb
            assert kb is not None
            indexes.append((SearchIndex(kb), {e.id for e in kb.entries}))
        saved = (engine.RANK_WEIGHTS, engine.ACCEPT_WEIGHTS)
        for a, b in ((0, 1), (1, 0)):
            fit_models(indexes[a][0], _relabel(questions, indexes[a][1]))
            indexes[b][0].recalibrate()  # the unseen base calibrates itself, as it would when loaded
            cells = _measure(indexes[b][0], _relabel(questions, indexes[b][1]))
            print(f"| half {a} | half {b} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
            print(f"  {indexes[b][0].calibration.summary()}")
        engine.RANK_WEIGHTS, engine.ACCEPT_WEIGHTS = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
