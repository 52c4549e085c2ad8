"""Fit the engine's feature weights (logistic regression) on the dev half of the labelled questions.

Run: ``python -m benchmarks.fit_confidence``. It prints the weights to paste into ``bot/kb/search.py``
(``WEIGHTS``) and a threshold sweep on the dev half; the test half stays unseen for ``benchmarks.accuracy``.
Each (question, candidate) pair is one example, labelled 1 when the candidate is the right entry.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.questions import load_questions
from bot.kb import search as engine
from bot.kb.loader import load_knowledge
from bot.kb.search import FEATURES, SearchIndex


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 4000, lr: float = 0.5) -> np.ndarray:
    """Plain batch gradient descent on the logistic loss with an L2 penalty (the bias is not penalized)."""
    w = np.zeros(x.shape[1])
    pos = max(1.0, float(y.sum()))
    weights = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * max(1.0, len(y) - pos)))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ ((p - y) * weights) / len(y)
        penalty = l2 * w
        penalty[-1] = 0.0
        w -= lr * (grad + penalty)
    return w


def main() -> int:
    """Fit on the dev split and print weights and a threshold sweep."""
    loaded = load_knowledge(Path("knowledge"))
    assert loaded.kb is not None, "knowledge base has errors"
    index = SearchIndex(loaded.kb)
    dev = [q for q in load_questions() if q.split == "dev"]
    rows: list[list[float]] = []
    labels: list[int] = []
    for q in dev:
        for entry_id, features in index.features_for(q.text, limit=8):
            rows.append(features)
            labels.append(int(entry_id == q.expected))
    x, y = np.array(rows), np.array(labels, dtype=float)
    w = fit(x, y)
    print(f"dev questions: {len(dev)}, pairs: {len(y)}, positives: {int(y.sum())}")
    print("WEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    for name, v in zip(FEATURES, w, strict=True):
        print(f"  {name:>10}: {v:+.3f}")
    engine.WEIGHTS = tuple(float(v) for v in w)
    index = SearchIndex(loaded.kb)
    print("\n| answer_at | in-scope answered correctly | declined (oos+near) | overall |")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        engine.ANSWER_AT = t
        ok_in = ok_out = n_in = n_out = 0
        for q in dev:
            r = index.search(q.text)
            if q.expected is None:
                n_out += 1
                ok_out += not r.answered
            else:
                n_in += 1
                ok_in += r.answered and r.best is not None and r.best.entry.id == q.expected
        print(
            f"| {t:.2f} | {ok_in / max(1, n_in):.3f} | {ok_out / max(1, n_out):.3f} | "
            f"{(ok_in + ok_out) / max(1, n_in + n_out):.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
