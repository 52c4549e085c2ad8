"""An index rebuilt from the one it replaces (a reload, a held-out copy for calibration) takes the unchanged
entries from it instead of reading them again, and searches exactly as an index built from scratch would."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.kb import index_cache, search
from bot.kb.loader import load_knowledge
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.search import SearchIndex
from bot.kb.semantic import DIM, SemanticModel
from bot.kb.store import KnowledgeStore

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    kb = load_knowledge(KNOWLEDGE).kb
    assert kb is not None, "the shipped knowledge base has errors: run python -m bot kb check"
    return kb


def edited(kb: KnowledgeBase, change: dict[str, Entry | None], add: Sequence[Entry] = ()) -> KnowledgeBase:
    """``kb`` with entries replaced (or removed, for None) by id, and ``add`` appended to the first topic."""
    categories = []
    for k, category in enumerate(kb.categories):
        entries = [change.get(e.id, e) if e.id in change else e for e in category.entries]
        kept = tuple(e for e in entries if e is not None)
        categories.append(replace(category, entries=kept + (tuple(add) if k == 0 else ())))
    return replace(kb, categories=tuple(categories))


def outcome(index: SearchIndex, text: str) -> tuple[object, ...]:
    result = index.search(text)
    return (result.decision, tuple((c.entry.id, round(c.score, 9)) for c in result.candidates))


def probes(kb: KnowledgeBase) -> list[str]:
    texts = [text for e in kb.entries[::3] for text in (e.question, *e.variants[:1])]
    return [*texts, "quen mat khau vneid thi lam the nao", "đăng ký tạm trú online", "giá vàng hôm nay", "xin chào"]


def test_an_edited_entry_is_read_again_and_the_rest_are_taken_over(shipped: KnowledgeBase) -> None:
    first = SearchIndex(shipped, calibrate=False, semantic=False)
    target = shipped.entries[7]
    other = shipped.entries[40]
    new = Entry(
        id="ho-tro-thu-nghiem",
        question="Đăng ký nuôi ong mật ở phường cần giấy gì?",
        answer="Nuôi ong mật không cần đăng ký với phường. Nếu nuôi để bán, hỏi cán bộ nông nghiệp phường.",
        category=shipped.categories[0].slug,
    )
    kb = edited(
        shipped,
        {target.id: replace(target, answer=target.answer + " Mang theo căn cước khi đến."), other.id: None},
        add=[new],
    )
    rebuilt = SearchIndex(kb, calibrate=False, semantic=False, previous=first)
    fresh = SearchIndex(kb, calibrate=False, semantic=False)
    assert rebuilt.reused == len(rebuilt.documents) - 2  # the edited entry and the new one were read
    assert fresh.reused == 0
    for text in [*probes(kb), new.question, "nuoi ong mat", other.question]:
        assert outcome(rebuilt, text) == outcome(fresh, text), text
    # A word only the removed entry used is unknown to the rebuilt index, as to a fresh one.
    gone = set(first.term_sets(shipped.entries.index(other))["answer"]) - {
        t for i in range(len(kb.entries)) for t in fresh.term_sets(i)["answer"] | fresh.term_sets(i)["match"]
    }
    for word in list(gone)[:5]:
        assert rebuilt.idf(word) == fresh.idf(word) == 0.0
    for i in range(len(kb.entries)):
        assert rebuilt.term_sets(i) == fresh.term_sets(i)


def test_a_changed_lexicon_rebuilds_everything(shipped: KnowledgeBase) -> None:
    first = SearchIndex(shipped, calibrate=False, semantic=False)
    kb = replace(shipped, abbreviations={**shipped.abbreviations, "xqyt": ("xã quang yên tĩnh",)})
    rebuilt = SearchIndex(kb, calibrate=False, semantic=False, previous=first)
    assert rebuilt.reused == 0
    assert rebuilt.normalizer is not first.normalizer
    again = SearchIndex(shipped, calibrate=False, semantic=False, previous=first)
    assert again.reused == len(again.documents)
    assert again.normalizer is first.normalizer


def test_a_long_chain_of_rebuilds_starts_the_vocabulary_afresh(shipped: KnowledgeBase) -> None:
    index = SearchIndex(shipped, calibrate=False, semantic=False)
    for _ in range(search.REBUILDS_BEFORE_FRESH):
        index = SearchIndex(shipped, calibrate=False, semantic=False, previous=index)
        assert index.reused == len(index.documents)
    index = SearchIndex(shipped, calibrate=False, semantic=False, previous=index)
    assert index.reused == 0


class CountingEncoder:
    """Deterministic vectors from a text's letters, counting every text it is asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def query(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for k, ch in enumerate(text):
                out[row, (ord(ch) * 31 + k) % DIM] += 1.0
        return out


def test_a_rebuild_embeds_only_the_entries_that_changed(shipped: KnowledgeBase) -> None:
    small = replace(shipped, categories=shipped.categories[:3])
    encoder = CountingEncoder()
    model = SemanticModel(encoder, None)
    first = SearchIndex(small, calibrate=False, semantic=model)
    assert len(encoder.seen) == len(first.documents)
    target = small.entries[2]
    question = "Câu hỏi mới về " + target.question
    kb = edited(small, {target.id: replace(target, question=question)})
    model._memory.clear()  # nothing cached: whatever is not taken over must be embedded again
    encoder.seen.clear()
    rebuilt = SearchIndex(kb, calibrate=False, semantic=model, previous=first)
    assert encoder.seen == [rebuilt.normalizer.normalize(question).text]
    model._memory.clear()
    fresh = SearchIndex(kb, calibrate=False, semantic=model)
    assert np.array_equal(rebuilt._sem_matrix, fresh._sem_matrix)
    assert np.array_equal(rebuilt._sem_starts, fresh._sem_starts)
    for text in probes(kb)[:40]:
        assert outcome(rebuilt, text) == outcome(fresh, text), text


def test_rows_saved_on_disk_serve_the_next_start(
    shipped: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_EMBEDDING_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "kb"
    assert index_cache.load(folder, shipped) is None  # nothing saved yet
    first = SearchIndex(shipped, calibrate=False, semantic=False)
    index_cache.save(folder, first)
    saved = index_cache.load(folder, shipped)
    assert saved is not None
    started = SearchIndex(shipped, calibrate=False, semantic=False, previous=saved)
    assert started.reused == len(started.documents)
    target = shipped.entries[11]
    kb = edited(shipped, {target.id: replace(target, variants=(*target.variants, "hỏi thêm một cách khác"))})
    changed = SearchIndex(kb, calibrate=False, semantic=False, previous=saved)
    assert changed.reused == len(changed.documents) - 1
    fresh = SearchIndex(kb, calibrate=False, semantic=False)
    for text in probes(kb):
        assert outcome(changed, text) == outcome(fresh, text), text
        assert outcome(started, text) == outcome(first, text), text
    # Another lexicon reads text differently: its file is another one.
    other = replace(shipped, abbreviations={**shipped.abbreviations, "xqyt": ("xã quang yên tĩnh",)})
    assert index_cache.load(folder, other) is None
    # Saving for it replaces the file of the old lexicon, which would never be read again.
    index_cache.save(folder, SearchIndex(other, calibrate=False, semantic=False))
    assert index_cache.load(folder, other) is not None
    assert index_cache.load(folder, shipped) is None
    assert len(list((tmp_path / "cache").glob("index-*.npz"))) == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated", "ids out of range"])
def test_a_damaged_rows_file_is_ignored(
    shipped: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    monkeypatch.setenv("KB_EMBEDDING_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "kb"
    index_cache.save(folder, SearchIndex(shipped, calibrate=False, semantic=False))
    path = index_cache.cache_file(folder, shipped)
    if damage == "garbage":
        path.write_bytes(b"\x00not an npz at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    else:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["terms_ids"] = arrays["terms_ids"] + 10_000_000
        np.savez(path, **arrays)
    assert index_cache.load(folder, shipped) is None


def test_a_store_starts_from_the_rows_its_last_build_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_EMBEDDING_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, folder)
    first = KnowledgeStore.open(folder)
    assert first.index.reused == 0
    again = KnowledgeStore.open(folder)
    assert again.index.reused == len(again.index.documents)
    question = "quen mat khau vneid thi lam sao"
    assert again.search(question).best == first.search(question).best
