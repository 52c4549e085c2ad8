"""The live knowledge store: one loaded knowledge base and its index, swapped atomically on reload.

A broken edit is refused: the previous knowledge base stays live and the problems are returned (and logged)
so staff can fix them. :meth:`KnowledgeStore.watch` polls the folder and reloads when a file changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot import metrics
from bot.kb.loader import LoadResult, knowledge_files, load_knowledge
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.problems import KnowledgeLoadError, Problem, Severity
from bot.kb.result import SearchResult
from bot.kb.search import SearchIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``ok`` with the new size, or the problems that kept the old base live."""

    ok: bool
    problems: list[Problem] = field(default_factory=list)
    entry_count: int = 0
    changed: bool = True

    @property
    def errors(self) -> list[Problem]:
        """The blocking problems only."""
        return [p for p in self.problems if p.severity is Severity.ERROR]


@dataclass(frozen=True)
class _Loaded:
    kb: KnowledgeBase
    index: SearchIndex
    result: LoadResult
    loaded_at: dt.datetime
    fingerprint: tuple[tuple[str, int, int], ...]
    related: dict[tuple[str, int], tuple[Entry, ...]] = field(default_factory=dict)


def _fingerprint(path: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        files = knowledge_files(path)
        folder = path if path.is_dir() else path.parent
        files += [p for p in folder.glob("_*.y*ml") if p not in files]
        return tuple(sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    except OSError:
        return ()


class KnowledgeStore:
    """Holds the live knowledge base; searching is lock-free, reloading is serialized."""

    def __init__(self, path: Path, loaded: _Loaded) -> None:
        self.path = Path(path)
        self._live = loaded
        self._lock = threading.Lock()
        metrics.knowledge_loaded(len(loaded.kb.entries), loaded.loaded_at)

    @classmethod
    def open(cls, path: Path | str) -> KnowledgeStore:
        """Load the knowledge base at ``path``; raise :class:`KnowledgeLoadError` if it has errors."""
        return cls(Path(path), cls._load(Path(path)))

    @staticmethod
    def _load(path: Path, previous: SearchIndex | None = None) -> _Loaded:
        """Load and index; on a reload the new index starts with the live one's calibration and recalibrates in a
        background thread, so an edit goes live in about the time the index takes to build."""
        fingerprint = _fingerprint(path)
        result = load_knowledge(path)
        if result.kb is None:
            raise KnowledgeLoadError(result.problems)
        index = SearchIndex(result.kb, calibrate=previous is None)
        if previous is not None:
            index.adopt_calibration(previous)
            threading.Thread(target=index.recalibrate_live, name="kb-calibration", daemon=True).start()
        return _Loaded(result.kb, index, result, dt.datetime.now(dt.UTC), fingerprint)

    @property
    def kb(self) -> KnowledgeBase:
        """The live knowledge base."""
        return self._live.kb

    @property
    def index(self) -> SearchIndex:
        """The live search index."""
        return self._live.index

    @property
    def loaded_at(self) -> dt.datetime:
        """When the live knowledge base was loaded (UTC)."""
        return self._live.loaded_at

    @property
    def config(self) -> dict[str, object]:
        """Parsed data of registered configuration files (announcement topics, planned notices), by name."""
        return self._live.result.config.extra

    def search(self, text: str) -> SearchResult:
        """Search the live knowledge base."""
        return self._live.index.search(text)

    def related(self, entry_id: str, limit: int = 3) -> list[Entry]:
        """Entries close to ``entry_id`` (same topic first), for "related questions" buttons."""
        live = self._live
        key = (entry_id, limit)
        cached = live.related.get(key)
        if cached is not None:  # the knowledge base is immutable until the next reload swaps ``_live``
            return list(cached)
        entry = live.kb.entry(entry_id)
        if entry is None:
            return []
        result = live.index.search(entry.question, limit=limit + 4)
        out = [c.entry for c in result.candidates if c.entry.id != entry_id]
        out.sort(key=lambda e: e.category != entry.category)  # stable: keeps score order within each group
        live.related[key] = tuple(out[:limit])
        return out[:limit]

    def reload(self) -> ReloadOutcome:
        """Reload from disk; on errors keep the previous knowledge base live and return the problems."""
        with self._lock:
            try:
                loaded = self._load(self.path, self._live.index)
            except KnowledgeLoadError as exc:
                for problem in exc.problems:
                    if problem.severity is Severity.ERROR:
                        log.warning("knowledge reload refused: %s", problem)
                return ReloadOutcome(False, exc.problems, len(self.kb.entries))
            except OSError as exc:
                log.warning("knowledge reload failed: %s", exc)
                problem = Problem(str(self.path), 0, f"không đọc được thư mục tri thức: {exc}")
                return ReloadOutcome(False, [problem], len(self.kb.entries))
            self._live = loaded
            metrics.knowledge_loaded(len(loaded.kb.entries), loaded.loaded_at)
            log.info("knowledge base reloaded: %d entries", len(loaded.kb.entries))
            return ReloadOutcome(True, loaded.result.problems, len(loaded.kb.entries))

    def changed_on_disk(self) -> bool:
        """True when a knowledge file was added, removed or modified since the last (attempted) load."""
        return _fingerprint(self.path) != self._live.fingerprint

    async def watch(
        self,
        on_reload: Callable[[ReloadOutcome], Awaitable[None]] | None = None,
        interval: float = 2.0,
    ) -> None:
        """Poll the folder forever; reload when files change and report each outcome to ``on_reload``."""
        seen = self._live.fingerprint
        while True:
            await asyncio.sleep(interval)
            current = await asyncio.to_thread(_fingerprint, self.path)
            if current == seen:
                continue
            seen = current
            outcome = await asyncio.to_thread(self.reload)
            if on_reload is not None:
                try:
                    await on_reload(outcome)
                except Exception:  # a failing notifier must not stop the watcher
                    log.exception("knowledge reload notifier failed")
