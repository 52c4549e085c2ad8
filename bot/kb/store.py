"""The live knowledge store: one loaded knowledge base and its index, swapped atomically on reload.

A broken edit is refused: the previous knowledge base stays live and the problems are returned (and logged)
so staff can fix them. :meth:`KnowledgeStore.watch` polls the folder and reloads when a file changes.

An edit that loads but looks like an interrupted copy (a file losing many entries at once, or not ending with a
line break) is *held*: the old version stays live until staff confirm with ``/reload`` or
``python -m bot kb confirm`` (which leaves a marker file next to the snapshot for the watcher). Every knowledge base
that loads cleanly is copied to a snapshot folder; at start-up a knowledge base with errors falls back to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import logging
import os
import shutil
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot import metrics
from bot.kb import index_cache
from bot.kb.loader import LoadResult, knowledge_files, load_knowledge
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.problems import KnowledgeLoadError, Problem, Severity
from bot.kb.result import SearchResult
from bot.kb.search import Reusable, SearchIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``ok`` with the new size, or the problems that kept the old base live."""

    ok: bool
    problems: list[Problem] = field(default_factory=list)
    entry_count: int = 0
    changed: bool = True
    held: bool = False  # loaded fine but looked cut short: the old version stays until staff confirm

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


# A file is held when it loses more than this share of its entries, and at least DROP_MIN of them, at once.
DROP_SHARE = 0.2
DROP_MIN = 3


def _entry_counts(kb: KnowledgeBase) -> Counter[str]:
    """Entries per topic file, by file name (the snapshot folder has the same names)."""
    return Counter(Path(e.file).name for e in kb.entries)


def suspicious_changes(old: KnowledgeBase, new: KnowledgeBase, files: list[Path]) -> list[Problem]:
    """Why ``new`` looks like an interrupted copy of ``old``: a file that lost many entries at once, or a changed
    ``files`` member that does not end with a line break. Empty when the change looks deliberate."""
    problems: list[Problem] = []
    before, after = _entry_counts(old), _entry_counts(new)
    for name, count in sorted(before.items()):
        lost = count - after.get(name, 0)
        if lost >= DROP_MIN and lost > DROP_SHARE * count:
            problems.append(
                Problem(
                    name,
                    0,
                    f"số mục giảm đột ngột từ {count} xuống {after.get(name, 0)}: tệp có thể bị chép dở hoặc bị xóa "
                    f"nhầm [entries dropped from {count} to {after.get(name, 0)}]",
                    Severity.WARNING,
                )
            )
    for path in files:
        try:
            with path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 1))
                last = f.read(1)
        except OSError:
            continue
        if size and last != b"\n":
            lines = path.read_bytes().count(b"\n") + 1
            problems.append(
                Problem(
                    path.name,
                    lines,
                    "tệp không kết thúc bằng một dòng trọn vẹn: có thể bị chép dở [file does not end cleanly]",
                    Severity.WARNING,
                )
            )
    return problems


def _changed_files(old: tuple[tuple[str, int, int], ...], new: tuple[tuple[str, int, int], ...]) -> list[str]:
    """Files of ``new`` that are new or differ (time or size) from ``old``."""
    before = {name: (mtime, size) for name, mtime, size in old}
    return [name for name, mtime, size in new if before.get(name) != (mtime, size)]


def confirm_marker(snapshot_dir: Path) -> Path:
    """Where ``kb confirm`` leaves its marker for the snapshot folder ``snapshot_dir``."""
    return snapshot_dir.with_name(snapshot_dir.name + ".confirm")


def release_freed_memory() -> None:
    """Hand the heap pages an index build freed back to the system. glibc keeps them otherwise: at 20,000
    entries about 170 MiB of a build's temporaries stayed resident after it. A no-op where there is no glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # the symbols the process has loaded: no library search


class KnowledgeStore:
    """Holds the live knowledge base; searching is lock-free, reloading is serialized."""

    def __init__(self, path: Path, loaded: _Loaded, *, snapshot_dir: Path | None = None) -> None:
        self.path = Path(path)
        self._live = loaded
        self._lock = threading.Lock()
        self.snapshot_dir = snapshot_dir
        metrics.knowledge_loaded(len(loaded.kb.entries), loaded.loaded_at)

    @classmethod
    def open(cls, path: Path | str, *, snapshot_dir: Path | None = None) -> KnowledgeStore:
        """Load the knowledge base at ``path``; raise :class:`KnowledgeLoadError` if it has errors.

        With ``snapshot_dir``, a clean load is copied there, and a knowledge base with errors falls back to the
        last snapshot (logged with every problem; the watcher keeps trying the real folder). Without a usable
        snapshot the error is raised as before.
        """
        path = Path(path)
        try:
            loaded = cls._load(path)
        except KnowledgeLoadError as exc:
            if snapshot_dir is None or not snapshot_dir.is_dir():
                raise
            try:
                loaded = cls._load(snapshot_dir)
            except (KnowledgeLoadError, OSError):
                raise exc from None
            saved = dt.datetime.fromtimestamp(snapshot_dir.stat().st_mtime, dt.UTC)
            log.error(
                "knowledge base at %s has errors; starting on the last good copy (%s, saved %s UTC, %d entries) "
                "until it is fixed",
                path,
                snapshot_dir,
                f"{saved:%Y-%m-%d %H:%M}",
                len(loaded.kb.entries),
            )
            for problem in exc.problems:
                if problem.severity is Severity.ERROR:
                    log.error("knowledge problem: %s", problem)
            # An empty fingerprint makes the watcher try the real folder at once (and tell staff what is wrong).
            return cls(
                path, _Loaded(loaded.kb, loaded.index, loaded.result, loaded.loaded_at, ()), snapshot_dir=snapshot_dir
            )
        store = cls(path, loaded, snapshot_dir=snapshot_dir)
        store._save_snapshot()
        release_freed_memory()
        return store

    @property
    def confirm_marker(self) -> Path | None:
        """The file ``kb confirm`` writes to accept a held edit from the shell (None without a snapshot folder)."""
        return None if self.snapshot_dir is None else confirm_marker(self.snapshot_dir)

    def _save_snapshot(self) -> None:
        """Copy the live knowledge files to ``snapshot_dir``, replacing the previous copy (never fails loudly)."""
        target = self.snapshot_dir
        if target is None or not self.path.is_dir():
            return
        fresh = target.with_name(target.name + ".new")
        stale = target.with_name(target.name + ".old")
        try:
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir(parents=True)
            for name, _, _ in self._live.fingerprint:
                shutil.copy2(name, fresh / Path(name).name)
            if target.exists():
                shutil.rmtree(stale, ignore_errors=True)
                target.rename(stale)
            fresh.rename(target)
            shutil.rmtree(stale, ignore_errors=True)
        except OSError as exc:
            log.warning("could not save the knowledge snapshot in %s: %s", target, exc)

    @staticmethod
    def _load(path: Path, live: _Loaded | None = None) -> _Loaded:
        """Load and index; on a reload the new index starts with the live one's calibration and recalibrates in a
        background thread, so an edit goes live in about the time the index takes to build. Unchanged files are
        taken over as the live version read them, unchanged entries from the live index, or at start from the
        rows saved on disk by the last build."""
        fingerprint = _fingerprint(path)
        previous = live.index if live is not None else None
        result = load_knowledge(path, previous=live.result if live is not None else None)
        if result.kb is None:
            raise KnowledgeLoadError(result.problems)
        reuse: Reusable | None = previous if previous is not None else index_cache.load(path, result.kb)
        index = SearchIndex(result.kb, calibrate=previous is None, previous=reuse, all_cores=previous is None)
        if index.reused < len(index.documents):
            if previous is None:
                index_cache.save(path, index)
            else:  # a reload goes live first; the next start needs the file, not this reload
                saver = threading.Thread(target=index_cache.save, args=(path, index), name="kb-rows", daemon=True)
                saver.start()
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

    def reload(self, *, confirm: bool = False) -> ReloadOutcome:
        """Reload from disk; on errors keep the previous knowledge base live and return the problems.

        A new version that looks cut short is held (old one kept, ``held`` set) unless ``confirm`` is true.
        """
        with self._lock:
            try:
                loaded = self._load(self.path, self._live)
            except KnowledgeLoadError as exc:
                for problem in exc.problems:
                    if problem.severity is Severity.ERROR:
                        log.warning("knowledge reload refused: %s", problem)
                return ReloadOutcome(False, exc.problems, len(self.kb.entries))
            except OSError as exc:
                log.warning("knowledge reload failed: %s", exc)
                problem = Problem(str(self.path), 0, f"không đọc được thư mục tri thức: {exc}")
                return ReloadOutcome(False, [problem], len(self.kb.entries))
            if not confirm:
                changed = [Path(name) for name in _changed_files(self._live.fingerprint, loaded.fingerprint)]
                held = suspicious_changes(self._live.kb, loaded.kb, changed)
                if held:
                    for problem in held:
                        log.warning("knowledge reload held until staff confirm: %s", problem)
                    return ReloadOutcome(False, held, len(self.kb.entries), held=True)
            self._live = loaded
            metrics.knowledge_loaded(len(loaded.kb.entries), loaded.loaded_at)
            log.info("knowledge base reloaded: %d entries", len(loaded.kb.entries))
            self._save_snapshot()
            release_freed_memory()
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
            marker = self.confirm_marker
            confirmed = marker is not None and marker.exists()
            if confirmed and marker is not None:
                marker.unlink(missing_ok=True)
            elif current == seen or current == self._live.fingerprint:
                seen = current  # unchanged, or already loaded by an explicit reload (/reload, an uploaded file)
                continue
            seen = current
            outcome = await asyncio.to_thread(self.reload, confirm=confirmed)
            if on_reload is not None:
                try:
                    await on_reload(outcome)
                except Exception:  # a failing notifier must not stop the watcher
                    log.exception("knowledge reload notifier failed")
