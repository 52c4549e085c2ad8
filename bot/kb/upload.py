"""Knowledge files sent through a chat: checked as they would be in place, applied after a confirm, undone.

A file is checked in a temporary copy of the knowledge folder with it added or replaced, by the same
:func:`~bot.kb.check.check_folder` as ``kb check``, so staff read the same ``file:line`` messages. Until it is
confirmed it waits in a hidden folder beside the knowledge files; applying it keeps the previous version for undo
and writes the new one atomically. Everything kept lives under :data:`HISTORY_DIR`, a folder the loader never
reads (it reads only the knowledge folder's own ``*.yaml`` files):

- ``.history/pending/<nonce>.yaml``: a checked upload waiting for its confirm;
- ``.history/versions/<file>/<time>-<nonce>.yaml``: earlier versions, the last :data:`KEEP_VERSIONS` per file;
- ``.history/journal.jsonl``: one line per apply and undo (who, which file, when), newest last.

Nothing here names a channel or holds a sentence for staff: the handler words the outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.kb.check import check_folder
from bot.kb.models import Entry, KnowledgeBase
from bot.kb.problems import Problem, Severity
from bot.kb.search import SearchIndex

log = logging.getLogger(__name__)

HISTORY_DIR = ".history"
MAX_UPLOAD_BYTES = 512 * 1024
KEEP_VERSIONS = 10  # earlier versions kept per file
PENDING_MAX_AGE = 86_400.0  # seconds; staged uploads nobody confirmed are swept after this
# The names knowledge files have: lower-case ASCII, digits and hyphens (a leading "_" for configuration files).
FILE_NAME = re.compile(r"^_?[a-z0-9]+(?:-[a-z0-9]+)*\.ya?ml$")
NONCE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_BINARY_STARTS = (b"%PDF", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
_lock = threading.Lock()  # one apply or undo at a time in this process (the confirm flow is taken atomically)


class Refusal(StrEnum):
    """Why an uploaded file is not even checked."""

    NAME = "name"  # not a knowledge file name (``vneid.yaml``)
    BINARY = "binary"  # a PDF, a picture, a Word or Excel file…
    NOT_UTF8 = "not_utf8"  # text in another encoding
    EMPTY = "empty"


class Conflict(StrEnum):
    """Why a confirmed apply or undo did not happen."""

    GONE = "gone"  # the staged upload or the kept version is no longer there
    CHANGED = "changed"  # the file changed on disk since it was checked (or since the upload being undone)
    NOTHING = "nothing"  # nothing left to undo


class UploadConflict(Exception):
    """An apply or undo found the folder not as expected; ``conflict`` says how."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(conflict.value)
        self.conflict = conflict


@dataclass(frozen=True)
class Actor:
    """Who applied or undid an upload."""

    channel: str
    user_id: str
    name: str | None = None


@dataclass(frozen=True)
class Change:
    """What an upload changes in its file, compared with the version citizens are answered from."""

    new_file: bool
    config: bool  # a configuration file (``_ward.yaml``…): it has no entries to compare
    entries: int  # entries of the file after the change
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    identical: bool = False  # byte for byte the file already in place


@dataclass(frozen=True)
class UploadCheck:
    """The check of one uploaded file: blocking problems (anywhere in the folder), its warnings, and the change."""

    name: str
    errors: list[Problem]
    warnings: list[Problem]
    change: Change | None  # None when there are errors
    digest: str  # sha256 of the uploaded bytes
    base: str  # sha256 of the file in place when checked ("" when there was none)

    @property
    def ok(self) -> bool:
        """True when the upload may be applied."""
        return not self.errors and self.change is not None


@dataclass(frozen=True)
class Record:
    """One line of the journal: an ``apply`` (with the kept previous version) or an ``undo`` of one."""

    id: str
    action: str  # "apply" or "undo"
    file: str
    at: dt.datetime
    by: Actor
    digest: str  # sha256 of the file as this action left it ("" when it removed the file)
    previous: str | None = None  # for an apply: the kept version (relative to the history folder); None: new file
    undoes: str | None = None  # for an undo: the id of the apply it reverted

    def to_json(self) -> str:
        """The journal line."""
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Record | None:
        """The record of a journal line, or None for a line that is not one."""
        try:
            data: dict[str, Any] = json.loads(line)
            by = data.pop("by")
            return cls(**{**data, "at": dt.datetime.fromisoformat(data["at"]), "by": Actor(**by)})
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def digest(data: bytes) -> str:
    """The sha256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


def history(folder: Path) -> Path:
    """The hidden folder beside the knowledge files that holds pending uploads, versions and the journal."""
    return Path(folder) / HISTORY_DIR


def screen(name: str, data: bytes) -> Refusal | None:
    """Why ``data`` named ``name`` cannot be a knowledge file, or None when it may be checked."""
    if not FILE_NAME.match(name):
        return Refusal.NAME
    if not data.strip():
        return Refusal.EMPTY
    if b"\x00" in data or data.startswith(_BINARY_STARTS):
        return Refusal.BINARY
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Refusal.NOT_UTF8
    return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _file_entries(kb: KnowledgeBase, name: str) -> dict[str, Entry]:
    """The entries of the file ``name`` (wherever the knowledge base was loaded from), by id, without places."""
    return {e.id: dataclasses.replace(e, file="", line=0) for e in kb.entries if Path(e.file).name == name}


def _change(name: str, before: KnowledgeBase, after: KnowledgeBase, *, new_file: bool, identical: bool) -> Change:
    old, new = _file_entries(before, name), _file_entries(after, name)
    return Change(
        new_file=new_file,
        config=name.startswith("_"),
        entries=len(new),
        added=tuple(i for i in new if i not in old),
        changed=tuple(i for i in new if i in old and old[i] != new[i]),
        removed=tuple(i for i in old if i not in new),
        identical=identical,
    )


def check_upload(
    folder: Path,
    name: str,
    data: bytes,
    *,
    live: SearchIndex,
    review_days: int,
    today: dt.date,
) -> UploadCheck:
    """Check ``data`` as the file ``name`` of the knowledge ``folder`` (added, or replacing the one there).

    The folder's knowledge files are copied to a temporary folder (times kept), the upload written there as the
    newest file (so a duplicate id is blamed on it, as ``kb check`` blames the file saved last), and the copy
    checked by ``kb check``'s own code with the live index's calibration. Errors anywhere block; warnings are
    those of the uploaded file. ``name`` must have passed :func:`screen`.
    """
    folder = Path(folder)
    current = _read(folder / name)
    with tempfile.TemporaryDirectory(prefix="kb-upload-") as tmp:
        copy = Path(tmp)
        newest = 0
        for path in sorted(folder.iterdir()):
            if path.suffix in {".yaml", ".yml"} and path.is_file() and path.name != name:
                shutil.copy2(path, copy / path.name)
                newest = max(newest, path.stat().st_mtime_ns)
        target = copy / name
        target.write_bytes(data)
        stamp = max(newest + 1_000_000_000, time.time_ns())
        os.utime(target, ns=(stamp, stamp))

        def display(path: Path) -> str:
            return path.name if path.parent == copy else folder.name

        checked = check_folder(
            copy, review_days=review_days, today=today, display=display, only_file=name, calibration_from=live
        )
    errors = checked.errors
    warnings = [p for p in checked.problems if p.severity is Severity.WARNING and p.file == name]
    change = None
    if not errors and checked.result.kb is not None:
        change = _change(name, live.kb, checked.result.kb, new_file=current is None, identical=current == data)
    return UploadCheck(name, errors, warnings, change, digest(data), digest(current) if current is not None else "")


def stage(folder: Path, nonce: str, data: bytes) -> None:
    """Keep a checked upload until its confirm (and sweep uploads nobody confirmed for a day)."""
    if not NONCE.match(nonce):
        raise ValueError("bad nonce")
    pending = history(folder) / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - PENDING_MAX_AGE
    for old in pending.glob("*.yaml"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue
    _write_atomic(pending / f"{nonce}.yaml", data)


def discard(folder: Path, nonce: str) -> None:
    """Forget a staged upload (cancelled, or applied)."""
    if NONCE.match(nonce):
        (history(folder) / "pending" / f"{nonce}.yaml").unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename: readers (the watcher,
    another instance) see the old file or the new one, never half of it. The temporary name ends in ``.tmp``,
    which the loader ignores."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def journal(folder: Path) -> list[Record]:
    """Every apply and undo, oldest first."""
    path = history(folder) / "journal.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [r for r in map(Record.from_json, lines) if r is not None]


def _append(folder: Path, record: Record) -> None:
    path = history(folder) / "journal.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(record.to_json() + "\n")
        f.flush()
        os.fsync(f.fileno())


def _keep_version(folder: Path, name: str, data: bytes, stamp: str) -> str:
    """Store ``data`` as a version of ``name``; drop the oldest beyond :data:`KEEP_VERSIONS`; the relative path."""
    versions = history(folder) / "versions" / name
    versions.mkdir(parents=True, exist_ok=True)
    _write_atomic(versions / f"{stamp}.yaml", data)
    for old in sorted(versions.glob("*.yaml"))[:-KEEP_VERSIONS]:
        old.unlink(missing_ok=True)
    return f"versions/{name}/{stamp}.yaml"


def _stamp(now: dt.datetime, nonce: str) -> str:
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{nonce}"


def apply_upload(
    folder: Path, name: str, nonce: str, *, expected: str, base: str, by: Actor, now: dt.datetime
) -> Record:
    """Put the staged upload ``nonce`` in place as ``name``: keep the file it replaces, write atomically, journal.

    ``expected`` is the digest of the checked upload, ``base`` that of the file in place when it was checked;
    raises :class:`UploadConflict` when the staged bytes are gone or differ, or the file changed meanwhile. The
    caller reloads the knowledge base afterwards.
    """
    folder = Path(folder)
    if not FILE_NAME.match(name) or not NONCE.match(nonce):
        raise UploadConflict(Conflict.GONE)
    with _lock:
        data = _read(history(folder) / "pending" / f"{nonce}.yaml")
        if data is None or digest(data) != expected:
            raise UploadConflict(Conflict.GONE)
        current = _read(folder / name)
        if (digest(current) if current is not None else "") != base:
            raise UploadConflict(Conflict.CHANGED)
        stamp = _stamp(now, nonce)
        previous = _keep_version(folder, name, current, stamp) if current is not None else None
        _write_atomic(folder / name, data)
        record = Record(nonce, "apply", name, now, by, expected, previous=previous)
        _append(folder, record)
        discard(folder, nonce)
    log.info(
        "knowledge file %s applied by %s %s (previous version: %s)",
        name,
        by.channel,
        by.user_id,
        previous or "none, a new file",
    )
    return record


def last_undoable(folder: Path) -> Record | None:
    """The newest apply not undone yet, or None."""
    records = journal(folder)
    undone = {r.undoes for r in records if r.action == "undo"}
    return next((r for r in reversed(records) if r.action == "apply" and r.id not in undone), None)


def undo_upload(folder: Path, record_id: str, *, nonce: str, by: Actor, now: dt.datetime) -> Record:
    """Revert the apply ``record_id``: put back the version it replaced (or remove the file it added).

    Only the newest apply not yet undone can be reverted, and only while its file is as that apply left it;
    otherwise :class:`UploadConflict`. The caller reloads.
    """
    folder = Path(folder)
    with _lock:
        record = last_undoable(folder)
        if record is None or record.id != record_id:
            raise UploadConflict(Conflict.NOTHING)
        path = folder / record.file
        current = _read(path)
        if current is None or digest(current) != record.digest:
            raise UploadConflict(Conflict.CHANGED)
        restored: bytes | None = None
        if record.previous is not None:
            restored = _read(history(folder) / record.previous)
            if restored is None:
                raise UploadConflict(Conflict.GONE)
        if restored is None:
            path.unlink()
        else:
            _write_atomic(path, restored)
        undo = Record(
            nonce, "undo", record.file, now, by, digest(restored) if restored is not None else "", undoes=record.id
        )
        _append(folder, undo)
    log.info("knowledge file %s: upload %s undone by %s %s", record.file, record.id, by.channel, by.user_id)
    return undo
