"""``kiemtra``: check messages for scam signs from the shell, one per argument or per line of standard input.

The checker reads only ``_scam.yaml``; the knowledge base is opened (no database) to name the closest scam
entries, unless ``--no-kb`` asks for the fastest start.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.sanitize import from_shell

if TYPE_CHECKING:
    from bot.kb.result import SearchResult
    from bot.scam.check import Verdict

_LEVEL_MARK = {"danger": "🔴 nguy hiểm", "suspicious": "🟠 đáng ngờ", "none": "🟢 chưa thấy dấu hiệu"}


def messages(words: Sequence[str], stdin: TextIO) -> Iterable[str]:
    """One message per argument, or per non-empty line of ``stdin`` (``\\n`` inside a line is a newline)."""
    if words:
        yield from (w for w in map(from_shell, words) if w.strip())
        return
    for line in stdin:
        line = from_shell(line.rstrip("\r\n"))
        if line.strip():
            yield line.replace("\\n", "\n")


def verdict_json(text: str, verdict: Verdict, entries: list[str]) -> str:
    """One JSON line: ``{"text", "level", "signals", "entries"}``."""
    return json.dumps(
        {
            "text": text,
            "level": verdict.level.value,
            "signals": [{"code": s.code, "weight": s.weight, "detail": s.detail} for s in verdict.signals],
            "entries": entries,
        },
        ensure_ascii=False,
    )


def verdict_text(verdict: Verdict, entries: list[str]) -> str:
    """A short human-readable verdict for staff."""
    lines = [f"{_LEVEL_MARK[verdict.level.value]} (điểm {verdict.score})"]
    lines += [f"  - {s.code}" + (f": {s.detail}" if s.detail else "") for s in verdict.signals]
    if entries:
        lines.append("  xem thêm: " + ", ".join(entries))
    return "\n".join(lines) + "\n"


def kiemtra(kb_path: Path, words: Sequence[str], as_json: bool, use_kb: bool = True) -> int:
    """Check each message and print its verdict; 1 if ``_scam.yaml`` has errors."""
    from bot.scam.advice import closest_entries
    from bot.scam.check import analyze
    from bot.scam.config import load_config_file

    config, problems = load_config_file(kb_path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    search: Callable[[str], SearchResult] | None = None
    if use_kb:
        from bot.kb.problems import KnowledgeLoadError
        from bot.kb.store import KnowledgeStore

        try:
            search = functools.lru_cache(maxsize=1024)(KnowledgeStore.open(kb_path).search)  # signal phrases repeat
        except KnowledgeLoadError as exc:
            print(f"(không mở được kho tri thức: {len(exc.problems)} lỗi; bỏ qua phần «xem thêm»)", file=sys.stderr)
    out = sys.stdout
    for message in messages(words, sys.stdin):
        verdict = analyze(message, config)
        entries = closest_entries(search, message, verdict, config.entry_category) if search else []
        out.write(verdict_json(message, verdict, entries) + "\n" if as_json else verdict_text(verdict, entries))
    out.flush()
    return 0


def add_commands(sub: Any) -> None:
    """Register ``kiemtra``."""
    p = sub.add_parser("kiemtra", help="check messages for scam signs (arguments or one per line of stdin)")
    p.add_argument("--kb", type=Path, help="knowledge folder (default: KNOWLEDGE_DIR)")
    p.add_argument("--json", action="store_true", help='one JSON object per message: {"text", "level", …}')
    p.add_argument("--no-kb", action="store_true", help="do not open the knowledge base (entries stay empty)")
    p.add_argument("text", nargs="*")
    p.set_defaults(handler=lambda a, s: kiemtra(a.kb or s.knowledge_dir, a.text, a.json, use_kb=not a.no_kb))
