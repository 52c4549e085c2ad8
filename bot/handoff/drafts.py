"""Drafts for the knowledge base, made from staff answers: the knowledge base grows from real questions.

One tap on a staff answer appends an entry (the citizen's question, the staff answer, the citizen's wording as a
variant) to ``_de-xuat.yaml`` in the knowledge folder. The file has the shape of a topic file but its name starts
with ``_``, so citizens never see a draft: staff review it, edit it and move the entry into a topic file.
``kb check`` validates it like a topic file; its problems are warnings, so a rough draft never blocks a reload.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import threading
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from bot.kb.loader import ConfigContext, register_config_file, topic_problems
from bot.kb.problems import Problem, Severity
from bot.kb.yaml_lines import LineDict

DRAFTS = "_de-xuat"
DRAFTS_FILE = DRAFTS + ".yaml"
HEADER = (
    "# Câu hỏi mới do cán bộ trả lời công dân, lưu lại làm bản nháp cho Kho tri thức.\n"
    "# Công dân KHÔNG thấy các mục trong tệp này. Cán bộ đọc lại, sửa câu chữ, thêm nguồn (source),\n"
    "# rồi chuyển mục sang tệp chủ đề phù hợp và xóa khỏi tệp này.\n"
)
_lock = threading.Lock()


def _slug(text: str, limit: int = 40) -> str:
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-") or "cau-hoi"


def append_draft(folder: Path, *, ticket_id: int, question: str, answer: str, today: dt.date) -> tuple[Path, str]:
    """Append a draft entry for ticket ``ticket_id``; returns the file and the entry id (one entry per ticket)."""
    path = Path(folder) / DRAFTS_FILE
    entry_id = f"de-xuat-{ticket_id}-{_slug(question)}"
    with _lock:
        data: Any = None
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            data = {"category": "de-xuat", "title": "Câu hỏi mới chờ biên tập", "entries": []}
        entries = [e for e in data["entries"] if not (isinstance(e, dict) and e.get("id") == entry_id)]
        wording = " ".join(question.split())
        entries.append({
            "id": entry_id,
            "question": wording.rstrip("?") + "?",
            "variants": [wording],
            "answer": answer.strip() + "\n",
            "updated": today.isoformat(),
        })  # fmt: skip
        data["entries"] = entries
        text = HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
        fd, tmp = tempfile.mkstemp(prefix=".de-xuat-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path, entry_id


def read_drafts(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    """Validate the drafts file as a topic file; every problem is a warning (drafts are not live)."""
    return [
        Problem(p.file, p.line, f"bản nháp: {p.message}", Severity.WARNING)
        for p in topic_problems(data, display, ConfigContext(ward=dict(ctx.ward)))
    ]


register_config_file(DRAFTS, read_drafts)
