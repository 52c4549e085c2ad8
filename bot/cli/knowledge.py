"""``ask`` and ``kb check``: the knowledge engine from the shell."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.kb.check import check_folder
from bot.kb.loader import load_knowledge
from bot.kb.problems import KnowledgeLoadError, Severity
from bot.kb.result import SearchResult
from bot.kb.store import KnowledgeStore, confirm_marker
from bot.sanitize import from_shell
from bot.settings import Settings


def result_json(result: SearchResult) -> str:
    """One JSON line: query, answered, id, score, candidates."""
    best = result.best
    return json.dumps(
        {
            "query": result.query,
            "answered": result.answered,
            "id": best.entry.id if best else None,
            "score": result.confidence,
            "candidates": [{"id": c.entry.id, "score": c.score} for c in result.candidates],
        },
        ensure_ascii=False,
    )


def result_text(result: SearchResult) -> str:
    """A short human-readable answer for staff at the shell."""
    best = result.best
    if result.answered and best is not None:
        return f"[{best.entry.id}] ({best.score:.2f}) {best.entry.question}\n{best.entry.answer.strip()}\n"
    if result.suggestions:
        lines = [f"(chưa chắc chắn, {result.confidence:.2f}) Có phải bạn muốn hỏi:"]
        lines += [f"  {n}. [{c.entry.id}] {c.entry.question}" for n, c in enumerate(result.suggestions, 1)]
        return "\n".join(lines) + "\n"
    return "(không tìm thấy câu trả lời phù hợp)\n"


def _questions(words: Sequence[str], stdin: TextIO) -> Iterable[str]:
    if words:
        yield from_shell(" ".join(words))
        return
    for line in stdin:
        line = from_shell(line.rstrip("\r\n"))
        if line.strip():
            yield line


_worker_store: KnowledgeStore | None = None
PARALLEL_FROM = 64  # questions in one batch before worker processes pay for themselves


def _answer(args: tuple[str, bool]) -> str:
    question, as_json = args
    assert _worker_store is not None
    result = _worker_store.search(question)
    return (result_json(result) + "\n") if as_json else result_text(result)


def ask(kb_path: Path, words: Sequence[str], as_json: bool) -> int:
    """Answer one question, or one per line of standard input: the index is built once; a large batch is shared
    by forked worker processes (one per core), answers printed in input order."""
    global _worker_store
    try:
        _worker_store = KnowledgeStore.open(kb_path)
    except KnowledgeLoadError as exc:
        for problem in exc.problems:
            if problem.severity is Severity.ERROR:
                print(problem, file=sys.stderr)
        return 1
    out = sys.stdout
    if words or sys.stdin.isatty():
        for question in _questions(words, sys.stdin):
            out.write(_answer((question, as_json)))
            out.flush()
        return 0
    batch = [(q, as_json) for q in _questions((), sys.stdin)]
    cores = os.cpu_count() or 1
    if len(batch) < PARALLEL_FROM or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        out.writelines(map(_answer, batch))
    else:
        with multiprocessing.get_context("fork").Pool(cores) as pool:
            out.writelines(pool.imap(_answer, batch, chunksize=32))
    out.flush()
    return 0


def local_today(timezone: str) -> dt.date:
    """Today in the bot's timezone (review dates are calendar days where the ward is)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(timezone)).date()


def kb_check(kb_path: Path, *, review_days: int = 180, today: dt.date | None = None) -> int:
    """Validate the knowledge base; print ``file:line: message`` for every problem; 1 if any error.

    Besides the schema: confusable entries, and entries dated in the future or past their review period.
    """
    import bot.config_files  # noqa: F401  (every configuration file the bot reads is checked; ``ask`` skips them)

    checked = check_folder(kb_path, review_days=review_days, today=today or dt.date.today())
    result, problems = checked.result, checked.problems
    calibration = checked.index.calibration.summary() if checked.index is not None else ""
    if not Path(kb_path).exists():
        print(
            f'không tìm thấy thư mục tri thức "{kb_path}": hãy chạy lệnh trong thư mục dự án, hoặc chỉ rõ đường dẫn '
            f'bằng "--kb đường/dẫn" hay biến môi trường KNOWLEDGE_DIR [knowledge folder not found]',
            file=sys.stderr,
        )
    for problem in sorted(problems, key=lambda p: (p.file, p.line)):
        print(problem)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    entries = len(result.kb.entries) if result.kb else 0
    verdict = ("Có lỗi", "invalid") if errors else ("Hợp lệ", "valid")
    if calibration:
        print(calibration)
    print(
        f"{verdict[0]}: {entries} mục, {errors} lỗi, {warnings} cảnh báo "
        f"[{verdict[1]}: {entries} entries, {errors} errors, {warnings} warnings]"
    )
    return 1 if errors else 0


def _check(args: Any, settings: Settings) -> int:
    return kb_check(
        args.kb or settings.knowledge_dir,
        review_days=settings.knowledge_review_days,
        today=local_today(settings.bot_timezone),
    )


def kb_confirm(kb_path: Path, snapshot_dir: Path) -> int:
    """Accept a held edit: check the folder has no errors, then leave the marker the running bot's watcher reads."""
    import bot.config_files  # noqa: F401  (an error in any configuration file keeps the edit held)

    result = load_knowledge(kb_path)
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    for problem in errors:
        print(problem, file=sys.stderr)
    if result.kb is None or errors:
        print("Chưa xác nhận được: kho tri thức đang có lỗi, hãy sửa trước.", file=sys.stderr)
        return 1
    marker = confirm_marker(snapshot_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{len(result.kb.entries)}\n", encoding="utf-8")
    print(f"Đã xác nhận bản mới ({len(result.kb.entries)} mục); bot đang chạy sẽ dùng nó trong vài giây.")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``ask`` and ``kb check``."""
    p = sub.add_parser("ask", help="hỏi thử: trả lời câu hỏi trong tham số hoặc từng dòng đầu vào chuẩn")
    p.add_argument("--kb", type=Path, help="thư mục hoặc tệp tri thức (mặc định: KNOWLEDGE_DIR)")
    p.add_argument("--json", action="store_true", help="mỗi câu hỏi một dòng JSON")
    p.add_argument("question", nargs="*", metavar="CÂU_HỎI")
    p.set_defaults(handler=lambda a, s: ask(a.kb or s.knowledge_dir, a.question, a.json))

    kb = sub.add_parser("kb", help="công cụ cho kho tri thức")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="kiểm tra kho tri thức: in tệp:dòng cho từng lỗi")
    check.add_argument("--kb", type=Path, help="thư mục hoặc tệp tri thức (mặc định: KNOWLEDGE_DIR)")
    check.set_defaults(handler=_check)
    confirm = kb_sub.add_parser("confirm", help="xác nhận dùng bản tri thức mới mà bot đang giữ lại (như /reload)")
    confirm.set_defaults(handler=lambda a, s: kb_confirm(s.knowledge_dir, s.knowledge_snapshot_dir))
