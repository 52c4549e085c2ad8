"""The search index's per-entry rows saved on disk, so that a start (``ask``, the bot) reads only what changed.

Building an index normalizes every question, variant and answer, which is most of the time ``ask`` takes to its
first answer. After a build the rows are saved next to the embedding cache (``KB_EMBEDDING_CACHE``), one file per
knowledge folder; the next start takes every entry whose text is unchanged from that file, exactly as a reload
takes them from the index it replaces, and normalizes only the rest.

The file is an ``.npz`` of plain arrays and one JSON document (no pickle). Its name carries a digest of the
lexicon, the exclusive-entity groups and the engine's own source, so a change to any of them simply misses the
old file. A file that cannot be read, or does not hold together, is ignored: the index is built from the text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import zipfile
from array import array
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.kb.calibration import bank
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.normalize import Lexicon, Normalizer, builtin_lexicon
from bot.kb.search import REBUILDS_BEFORE_FRESH, EntryRows, Phrase, SearchIndex
from bot.kb.semantic import cache_dir

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the file layout changes
_GROUP, _NAME = "\x1e", "\x1f"  # separators of an entry's entity groups and of the names in a group
_SOURCES = ("search.py", "normalize.py", "index_cache.py")  # the code whose output the file holds
# (name in the file, the EntryRows field, dtype) of the per-entry id rows.
_ROWS = (
    ("terms", "terms", np.int32),
    ("match_accented", "match_accented", np.int32),
    ("answer_uni", "answer_uni", np.int32),
    ("answer_accented", "answer_accented", np.int32),
    ("grams", "grams", np.int32),
)
_PHRASE_ROWS = ("uni", "acc", "bi")


def _digest(*parts: object) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def _code_digest() -> str:
    here = Path(__file__).parent
    h = hashlib.blake2b(digest_size=16)
    for name in _SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def lexicon_digest(lexicon: Lexicon) -> str:
    """What the rows depend on besides an entry's text: the lexicon, the entity groups and the engine's code."""
    return _digest(
        FORMAT,
        _code_digest(),
        sorted(lexicon.abbreviations.items()),
        lexicon.synonyms,
        lexicon.fillers,
        lexicon.trailing_fillers,
        bank()["exclusive_entities"],
    )


def entry_digest(entry: Entry) -> str:
    """An entry's text, as far as its rows depend on it."""
    return _digest(entry.question, entry.variants, entry.tags, entry.answer)


def _folder_key(folder: Path) -> str:
    return _digest(str(Path(folder).resolve()))[:16]


def cache_file(folder: Path, kb: KnowledgeBase) -> Path:
    """Where the rows of the knowledge base in ``folder`` are kept (one file per folder, lexicon and code)."""
    lexicon = builtin_lexicon().extended(kb.abbreviations, [list(g) for g in kb.synonyms])
    return cache_dir() / f"index-{_folder_key(folder)}-{lexicon_digest(lexicon)[:16]}.npz"


class SavedRows:
    """Rows read back from a file: what :class:`~bot.kb.search.Reusable` asks of them."""

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        counts = meta["counts"]
        n = int(counts["entries"])
        self._lexicon = str(meta["lexicon"])
        self._rebuilds = int(meta["rebuilds"])
        self._vocabulary = {t: k for k, t in enumerate(_lines(arrays.pop("terms_text"), int(counts["terms"])))}
        self._grams = {g: k for k, g in enumerate(_lines(arrays.pop("grams_text"), int(counts["grams"])))}
        self._at = {d: i for i, d in enumerate(_lines(arrays.pop("entries_text"), n))}
        phrases = int(arrays["phrase_bounds"][-1]) if len(arrays["phrase_bounds"]) else -1
        self._phrase_texts = _lines(arrays.pop("phrase_text"), phrases)
        self._entities = _lines(arrays.pop("entities_text"), n)
        self._groups = int(counts["groups"])
        self._entity_sets: dict[str, tuple[frozenset[str], ...]] = {}
        self._shared_ids = list(self._vocabulary.values())
        self._arrays = arrays
        if (
            len(self._vocabulary) != int(counts["terms"])
            or len(self._grams) != int(counts["grams"])
            or len(self._at) != n
        ):
            raise ValueError("repeated terms or entries")
        self._check()

    def _check(self) -> None:
        """Raise ValueError unless every row is within its arrays and every id within its vocabulary."""
        n = len(self._at)
        phrases = len(self._phrase_texts)
        a = self._arrays
        limits = {"terms": len(self._vocabulary), "grams": len(self._grams)}
        for name, _, _ in _ROWS:
            self._check_rows(name, n, limits.get(name, len(self._vocabulary)))
        for name in _PHRASE_ROWS:
            self._check_rows(f"phrase_{name}", phrases, len(self._vocabulary))
        terms = int(a["terms_bounds"][-1])
        if len(a["match_counts"]) != terms or len(a["answer_counts"]) != terms:
            raise ValueError("term counts do not match the terms")
        bounds = a["phrase_bounds"]
        if len(bounds) != n + 1 or int(bounds[-1]) != phrases or np.any(np.diff(bounds) < 0):
            raise ValueError("phrases do not match the entries")
        if len(a["phrase_is_tags"]) != phrases or len(self._entities) != n:
            raise ValueError("phrase or entity lists do not match")
        if self._groups and any(e.count(_GROUP) != self._groups - 1 for e in self._entities):
            raise ValueError("an entry's entity groups do not match")

    def _check_rows(self, name: str, count: int, vocabulary: int) -> None:
        ids, bounds = self._arrays[f"{name}_ids"], self._arrays[f"{name}_bounds"]
        if len(bounds) != count + 1 or int(bounds[0]) != 0 or int(bounds[-1]) != len(ids):
            raise ValueError(f"{name}: bounds do not match")
        if np.any(np.diff(bounds) < 0) or (len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= vocabulary)):
            raise ValueError(f"{name}: ids out of range")

    @property
    def vocabulary(self) -> dict[str, int]:
        """Term ids by term."""
        return self._vocabulary

    @property
    def gram_vocabulary(self) -> dict[str, int]:
        """Trigram numbers by trigram."""
        return self._grams

    @property
    def rebuilds(self) -> int:
        """Rebuilds in the chain that made these rows."""
        return self._rebuilds

    def reusable_for(self, normalizer: Normalizer) -> bool:
        """Whether ``normalizer`` reads text as the one that made these rows did."""
        return lexicon_digest(normalizer.lexicon) == self._lexicon and self._rebuilds < REBUILDS_BEFORE_FRESH

    def _row(self, name: str, i: int) -> np.ndarray:
        bounds = self._arrays[f"{name}_bounds"]
        return self._arrays[f"{name}_ids"][int(bounds[i]) : int(bounds[i + 1])]

    def _entities_of(self, i: int) -> tuple[frozenset[str], ...]:
        text = self._entities[i]
        known = self._entity_sets.get(text)
        if known is None:  # most entries name the same few entities (or none): one tuple serves them all
            groups = text.split(_GROUP) if self._groups else []  # as many as there are groups: checked on reading
            known = self._entity_sets[text] = tuple(frozenset(g.split(_NAME) if g else ()) for g in groups)
        return known

    def _ids(self, name: str, k: int) -> tuple[int, ...]:
        # The vocabulary's own int objects: ids read back as new ints would take 28 bytes each, for millions.
        return tuple(map(self._shared_ids.__getitem__, self._row(name, k).tolist()))

    def rows_for(self, entry: Entry) -> EntryRows | None:
        """The saved rows of an entry with exactly ``entry``'s text, if any."""
        i = self._at.get(entry_digest(entry))
        if i is None:
            return None
        a = self._arrays
        start, end = int(a["terms_bounds"][i]), int(a["terms_bounds"][i + 1])
        first, last = int(a["phrase_bounds"][i]), int(a["phrase_bounds"][i + 1])
        phrases = tuple(
            Phrase(
                self._phrase_texts[k],
                self._ids("phrase_uni", k),
                self._ids("phrase_acc", k),
                self._ids("phrase_bi", k),
                bool(a["phrase_is_tags"][k]),
            )
            for k in range(first, last)
        )
        return EntryRows(
            phrases=phrases,
            terms=self._row("terms", i),
            match_counts=a["match_counts"][start:end],
            answer_counts=a["answer_counts"][start:end],
            match_accented=self._row("match_accented", i),
            answer_uni=self._row("answer_uni", i),
            answer_accented=self._row("answer_accented", i),
            grams=self._row("grams", i),
            entities=self._entities_of(i),
        )


def _blob(lines: Iterable[str]) -> np.ndarray:
    """Strings (none holding a newline) as one UTF-8 array: no Python object per string while saving."""
    return np.frombuffer("\n".join(lines).encode("utf-8"), dtype=np.uint8)


def _lines(blob: np.ndarray, count: int) -> list[str]:
    lines = blob.tobytes().decode("utf-8").split("\n") if count else []
    if len(lines) != count:
        raise ValueError("a text list does not have its length")
    return lines


def save(folder: Path, index: SearchIndex) -> None:
    """Save ``index``'s rows for the knowledge base in ``folder`` (never fails loudly: a start only gets slower)."""
    n = len(index.documents)
    arrays = dict(index.row_arrays())
    phrase_bounds = array("q", [0])
    flags = array("b")
    ids: dict[str, array[int]] = {name: array("i") for name in _PHRASE_ROWS}
    ends: dict[str, array[int]] = {name: array("q", [0]) for name in _PHRASE_ROWS}
    for i in range(n):
        phrases = index.phrases(i)
        phrase_bounds.append(phrase_bounds[-1] + len(phrases))
        for phrase in phrases:
            flags.append(phrase.is_tags)
            for name in _PHRASE_ROWS:
                ids[name].extend(getattr(phrase, name))
                ends[name].append(len(ids[name]))
    arrays["phrase_bounds"] = np.frombuffer(phrase_bounds, dtype=np.int64)
    arrays["phrase_is_tags"] = np.frombuffer(flags, dtype=np.int8).astype(bool)
    for name in _PHRASE_ROWS:
        arrays[f"phrase_{name}_ids"] = np.frombuffer(ids[name], dtype=np.int32)
        arrays[f"phrase_{name}_bounds"] = np.frombuffer(ends[name], dtype=np.int64)
    arrays["terms_text"] = _blob(index.vocabulary)
    arrays["grams_text"] = _blob(index.gram_vocabulary)
    arrays["entries_text"] = _blob(entry_digest(e) for e in index.documents)
    arrays["phrase_text"] = _blob(p.text for i in range(n) for p in index.phrases(i))
    arrays["entities_text"] = _blob(
        _GROUP.join(_NAME.join(sorted(group)) for group in index.entities(i)) for i in range(n)
    )
    meta = {
        "lexicon": lexicon_digest(index.normalizer.lexicon),
        "rebuilds": index.rebuilds,
        "counts": {
            "terms": len(index.vocabulary),
            "grams": len(index.gram_vocabulary),
            "entries": n,
            "groups": len(index.entities(0)) if n else 0,
        },
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path = cache_file(folder, index.kb)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, allow_pickle=False, **arrays)
        tmp.replace(path)
        for stale in path.parent.glob(f"index-{_folder_key(folder)}-*.npz"):
            if stale != path:  # made with another lexicon or engine: never read again
                stale.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("index rows not cached: %s", exc)
        tmp.unlink(missing_ok=True)


def load(folder: Path, kb: KnowledgeBase) -> SavedRows | None:
    """The rows saved for the knowledge base in ``folder``, or None (no file, or one that does not hold)."""
    path = cache_file(folder, kb)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        return SavedRows(meta, arrays)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("cached index rows unreadable, reading the knowledge base afresh: %s", exc)
        return None
