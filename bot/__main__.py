"""Command line: ``python -m bot run | ask | kb check`` (INTERFACE §2), plus the staff tools of later issues."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from bot.kb.check import retrieval_warnings
from bot.kb.loader import load_knowledge
from bot.kb.problems import KnowledgeLoadError, Severity
from bot.kb.result import SearchResult
from bot.kb.store import KnowledgeStore
from bot.settings import Settings


def _result_json(result: SearchResult) -> str:
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


def _result_text(result: SearchResult) -> str:
    best = result.best
    if result.answered and best is not None:
        return f"[{best.entry.id}] ({best.score:.2f}) {best.entry.question}\n{best.entry.answer.strip()}\n"
    if result.suggestions:
        lines = [f"(chưa chắc chắn, {result.confidence:.2f}) Có phải bạn muốn hỏi:"]
        lines += [f"  {n}. [{c.entry.id}] {c.entry.question}" for n, c in enumerate(result.suggestions, 1)]
        return "\n".join(lines) + "\n"
    return "(không tìm thấy câu trả lời phù hợp)\n"


def _questions(args: Sequence[str], stdin: TextIO) -> Iterable[str]:
    if args:
        yield " ".join(args)
        return
    for line in stdin:
        line = line.rstrip("\n")
        if line.strip():
            yield line


def cmd_ask(kb_path: Path, questions: Sequence[str], as_json: bool) -> int:
    """Answer one question, or one per line of standard input, in a single process."""
    try:
        store = KnowledgeStore.open(kb_path)
    except KnowledgeLoadError as exc:
        for problem in exc.problems:
            if problem.severity is Severity.ERROR:
                print(problem, file=sys.stderr)
        return 1
    out = sys.stdout
    for question in _questions(questions, sys.stdin):
        result = store.search(question)
        out.write((_result_json(result) + "\n") if as_json else _result_text(result))
    out.flush()
    return 0


def cmd_kb_check(kb_path: Path) -> int:
    """Validate the knowledge base; print ``file:line: message`` for every problem; 1 if any error."""
    result = load_knowledge(kb_path)
    problems = list(result.problems)
    if result.kb is not None:
        from bot.kb.search import SearchIndex

        problems += retrieval_warnings(SearchIndex(result.kb))
    for problem in sorted(problems, key=lambda p: (p.file, p.line)):
        print(problem)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    entries = len(result.kb.entries) if result.kb else 0
    print(
        f"{'Có lỗi' if errors else 'Hợp lệ'}: {entries} mục, {errors} lỗi, {warnings} cảnh báo "
        f"[{'invalid' if errors else 'valid'}: {entries} entries, {errors} errors, {warnings} warnings]"
    )
    return 1 if errors else 0


def cmd_run(settings: Settings) -> int:
    """Start the bot: Telegram when a token is set, otherwise the terminal chat."""
    from bot.app import run

    return run(settings)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý số")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the bot (terminal chat when no TELEGRAM_BOT_TOKEN is set)")
    ask = sub.add_parser("ask", help="answer questions from the command line or standard input")
    ask.add_argument("--kb", type=Path, help="knowledge folder or file (default: KNOWLEDGE_DIR)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("question", nargs="*")
    kb = sub.add_parser("kb", help="knowledge base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--kb", type=Path, help="knowledge folder or file (default: KNOWLEDGE_DIR)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bot``."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    settings = Settings()
    if args.command == "run":
        return cmd_run(settings)
    kb_path = getattr(args, "kb", None) or settings.knowledge_dir
    if args.command == "ask":
        return cmd_ask(kb_path, args.question, args.json)
    if args.command == "kb" and args.kb_command == "check":
        return cmd_kb_check(kb_path)
    return 2


if __name__ == "__main__":
    sys.exit(main())
