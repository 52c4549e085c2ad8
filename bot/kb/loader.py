"""Load and validate knowledge files into a :class:`KnowledgeBase`, reporting every problem as ``file:line``.

Topic files (``*.yaml``) follow the knowledge schema (README). Files whose name starts with ``_`` are
configuration: the ward's contacts (``_ward.yaml``), extra abbreviations and synonyms (``_synonyms.yaml``), and
any file registered with :func:`register_config_file` (announcement topics, planned announcements). Messages
are written for ward staff: Vietnamese first, with the English wording in brackets.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from bot.kb.models import Category, Entry, KnowledgeBase, WardInfo
from bot.kb.problems import Problem, Severity
from bot.kb.sources import source_problem
from bot.kb.yaml_lines import LineDict, LineList, load_with_lines

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PLACEHOLDER = re.compile(r"\{\{\s*ward\.([a-z_]+)\s*\}\}")
BRACKETED_PLACEHOLDER = re.compile(r" ?\(\{\{\s*ward\.([a-z_]+)\s*\}\}\)")
TOPIC_KEYS = {"category", "title", "entries"}
ENTRY_KEYS = {"id", "question", "variants", "answer", "tags", "source", "updated", "review"}
MAX_ANSWER_CHARS = 3500
MAX_REVIEW_DAYS = 3650
# ``review:`` keywords staff may write instead of a number of days (fast-changing facts: hotlines, fees,
# button names, rules with a date)
REVIEW_KEYWORDS = {"hang-thang": 30, "nhanh": 90}
DATE_SHAPE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
WARD_DEFAULTS = {  # what a placeholder says while the ward has not filled in _ward.yaml
    "name": "UBND phường/xã nơi bạn cư trú",
    "address": "trụ sở UBND phường/xã",
    "phone": "số điện thoại của UBND phường/xã (niêm yết tại trụ sở)",
    "email": "hộp thư của UBND phường/xã",
    "zalo": "trang Zalo chính thức của UBND phường/xã",
    "website": "trang thông tin điện tử của phường/xã",
    "working_hours": "giờ hành chính các ngày làm việc",
    "digital_team_name": "Tổ công nghệ số cộng đồng",
    "digital_team_phone": "số điện thoại của Tổ công nghệ số cộng đồng (hỏi tại UBND phường/xã)",
    "digital_team_place": "bộ phận một cửa của UBND phường/xã",
    "police_phone": "số điện thoại của Công an phường/xã",
}


@dataclass
class ConfigContext:
    """What configuration files contribute while a folder loads."""

    ward: dict[str, str] = field(default_factory=dict)
    ward_file: str | None = None  # the ``_ward.yaml`` read, if any, and the line of each of its keys
    ward_lines: dict[str, int] = field(default_factory=dict)
    abbreviations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: list[tuple[str, ...]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # parsed data of registered config files, by file name


ConfigReader = Callable[[LineDict, str, ConfigContext], list[Problem]]
_CONFIG_READERS: dict[str, ConfigReader] = {}


def register_config_file(name: str, reader: ConfigReader) -> None:
    """Let another part of the bot validate and read its own ``_name.yaml`` configuration file."""
    _CONFIG_READERS[name] = reader


@dataclass(frozen=True)
class _Topic:
    """One topic file as read: the bytes' digest and the folder state it was read with, and what came of it."""

    key: tuple[str, bytes, tuple[tuple[str, str], ...]]  # display name, digest, ward values for placeholders
    category: Category | None
    problems: tuple[Problem, ...]
    category_line: int


@dataclass(frozen=True)
class LoadResult:
    """The loaded knowledge base (None when there are errors) and every problem found."""

    kb: KnowledgeBase | None
    problems: list[Problem]
    config: ConfigContext
    # Each topic file as read, by path: a later load reads again only the files whose bytes changed.
    topics: dict[str, _Topic] = field(default_factory=dict, compare=False, repr=False)

    @property
    def errors(self) -> list[Problem]:
        """Only the problems that block loading."""
        return [p for p in self.problems if p.severity is Severity.ERROR]


def knowledge_files(path: Path) -> list[Path]:
    """The YAML files of a knowledge folder (sorted), or the one file given."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


TAB_MESSAGE = (
    "dòng này thụt lề bằng ký tự Tab (phím Tab); YAML chỉ chấp nhận dấu cách: hãy xóa Tab và gõ dấu cách "
    "cho thẳng hàng với các dòng cùng cấp [a Tab character is used for indentation; use spaces]"
)
# PyYAML's problem texts, told to staff in Vietnamese (the original stays in brackets)
YAML_PROBLEMS = (
    (
        "mapping values are not allowed",
        'có dấu hai chấm theo sau là dấu cách (": ") ở giữa câu: hãy đặt cả câu trong dấu ngoặc kép, '
        'ví dụ question: "Mức 2: cần mang gì?"',
    ),
    ("could not find expected ':'", 'thiếu dấu hai chấm ":" sau tên khóa, hoặc một câu bị xuống dòng giữa chừng'),
    ("found unexpected end of stream", "dấu ngoặc kép hoặc ngoặc đơn mở ra mà chưa đóng"),
    ("expected <block end>", "thụt lề không thẳng hàng với các dòng cùng cấp"),
    ("did not find expected key", 'thụt lề lệch, hoặc dòng đầu của một mục thiếu "- "'),
    ("did not find expected '-' indicator", 'trong danh sách, mỗi dòng phải bắt đầu bằng "- " và thẳng hàng'),
    ("found undefined alias", 'câu bắt đầu bằng dấu "*": hãy đặt cả câu trong dấu ngoặc kép'),
    ("that cannot start any token", "câu bắt đầu bằng ký tự đặc biệt (@, `, %...): hãy đặt cả câu trong dấu ngoặc kép"),
    ("expected ',' or ']'", "danh sách trong ngoặc vuông [...] thiếu dấu phẩy hoặc dấu đóng ngoặc ]"),
    ("expected ',' or '}'", "cặp ngoặc nhọn {...} thiếu dấu phẩy hoặc dấu đóng ngoặc }"),
    (
        "found unknown escape character",
        'trong dấu ngoặc kép, dấu "\\" có nghĩa đặc biệt: hãy dùng ngoặc đơn hoặc bỏ dấu "\\"',
    ),
)


def _tab_line(text: str, near: int) -> int | None:
    """The line (1-based) of the last Tab used for indentation up to the line after ``near`` (PyYAML often marks
    the line after the culprit), else ``near`` itself when a Tab sits anywhere on it; None without a Tab."""
    lines = text.splitlines()
    indented = [n for n, line in enumerate(lines[: near + 1], 1) if "\t" in line[: len(line) - len(line.lstrip(" \t"))]]
    if indented:
        return indented[-1]
    return near if 0 < near <= len(lines) and "\t" in lines[near - 1] else None


def _yaml_problem(display: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    problem = str(exc.problem or "")
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    tab = _tab_line(text, line)
    if tab is not None and (tab >= line - 1 or "\\t" in problem or "'\t'" in problem):
        return Problem(display, tab, f"lỗi cú pháp YAML: {TAB_MESSAGE}")
    if "end of stream" in problem and exc.context_mark is not None:
        line = exc.context_mark.line + 1  # where the quote was opened, not the end of the file
    told = next((vi for en, vi in YAML_PROBLEMS if en in problem), None)
    if told is None:
        told = "cấu trúc không hợp lệ (kiểm tra thụt lề, dấu hai chấm, dấu ngoặc kép)"
    return Problem(display, line, f"lỗi cú pháp YAML: {told} [YAML syntax error: {problem or exc}]")


def _read_yaml(path: Path, display: str, problems: list[Problem], raw: bytes | None = None) -> Any:
    raw = path.read_bytes() if raw is None else raw
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                display,
                line,
                "tệp không phải UTF-8: hãy mở tệp và lưu lại với mã hóa UTF-8 [file is not UTF-8]",
            )
        )
        return None
    try:
        return load_with_lines(text)
    except yaml.MarkedYAMLError as exc:
        problems.append(_yaml_problem(display, text, exc))
    except yaml.YAMLError as exc:
        problems.append(Problem(display, 1, f"lỗi cú pháp YAML: cấu trúc không hợp lệ [YAML syntax error: {exc}]"))
    return None


def _date_problem(value: object) -> str:
    """Say what is wrong with an ``updated`` value: its shape, or the day or month that does not exist."""
    text = str(value).strip()
    shape = DATE_SHAPE.match(text)
    if shape is None:
        return (
            f'ngày "{text}" không hợp lệ: viết theo dạng NĂM-THÁNG-NGÀY, ví dụ 2026-03-01 '
            "[updated must be a date written year-month-day]"
        )
    year, month, day = (int(g) for g in shape.groups())
    if not 1 <= month <= 12:
        return (
            f'ngày "{text}" không hợp lệ: tháng {month} không tồn tại, tháng chỉ từ 1 đến 12 '
            f"(viết NĂM-THÁNG-NGÀY) [month {month} does not exist]"
        )
    last = calendar.monthrange(year, month)[1]
    return (
        f'ngày "{text}" không hợp lệ: ngày {day} tháng {month} không tồn tại '
        f"(tháng {month} năm {year} có {last} ngày) [day {day} does not exist in {year}-{month:02d}]"
    )


def _as_date(value: object) -> dt.date | None:
    """A YAML date, or a quoted ``"2026-03-01"`` that is a real date; None otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    shape = DATE_SHAPE.match(str(value).strip())
    if shape is None:
        return None
    try:
        return dt.date(*(int(g) for g in shape.groups()))
    except ValueError:
        return None


def _review_days(value: object) -> int | None:
    """Days from a ``review:`` value (a number of days or a keyword); None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_REVIEW_DAYS else None
    return REVIEW_KEYWORDS.get(str(value).strip().lower())


def _unknown_key_message(key: object, allowed: set[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
    hint = f' Có phải ý bạn là "{close[0]}"? [did you mean "{close[0]}"?]' if close else ""
    return f'khóa "{key}" không được phép; chỉ dùng: {", ".join(sorted(allowed))} [unknown key]' + hint


def _check_keys(data: LineDict, allowed: set[str], display: str, problems: list[Problem]) -> None:
    for key, line in data.duplicates:
        problems.append(Problem(display, line, f'khóa "{key}" bị lặp lại [duplicate key]'))
    for key in data:
        if key not in allowed:
            problems.append(Problem(display, data.key_lines[key], _unknown_key_message(key, allowed)))


def _text(data: LineDict, key: str, display: str, problems: list[Problem], *, required: bool, what: str) -> str | None:
    line = data.key_lines.get(key, data.line)
    value = data.get(key)
    if value is None:
        if required:
            problems.append(Problem(display, line, f'thiếu "{key}" ({what}) hoặc để trống [missing {key}]'))
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(Problem(display, line, f'"{key}" phải là một đoạn chữ [{key} must be text]'))
        return None
    text = str(value).strip()
    if not text and required:
        problems.append(Problem(display, line, f'"{key}" ({what}) đang để trống [empty {key}]'))
        return None
    return text or None


def _text_list(data: LineDict, key: str, display: str, problems: list[Problem]) -> tuple[str, ...]:
    value = data.get(key)
    line = data.key_lines.get(key, data.line)
    if value is None:
        return ()
    if not isinstance(value, LineList):
        problems.append(
            Problem(
                display,
                line,
                f'"{key}" phải là một danh sách, mỗi dòng bắt đầu bằng "- " [{key} must be a list]',
            )
        )
        return ()
    out: list[str] = []
    for item, item_line in zip(value, value.item_lines, strict=True):
        if not isinstance(item, str | int | float) or isinstance(item, bool) or not str(item).strip():
            problems.append(
                Problem(display, item_line, f'mỗi mục của "{key}" phải là một đoạn chữ không trống [bad item]')
            )
            continue
        out.append(str(item).strip())
    return tuple(out)


def _fill_placeholders(text: str, ward: dict[str, str], display: str, line: int, problems: list[Problem]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in WARD_DEFAULTS:
            problems.append(
                Problem(
                    display,
                    line,
                    f'không có trường "{{{{ward.{name}}}}}"; dùng một trong: '
                    + ", ".join(f"ward.{k}" for k in WARD_DEFAULTS)
                    + " [unknown placeholder]",
                )
            )
            return match.group(0)
        return ward.get(name) or WARD_DEFAULTS[name]

    def drop_empty(match: re.Match[str]) -> str:
        # "công an phường ({{ward.police_phone}})": the brackets only add the number; with none, say nothing
        name = match.group(1)
        return match.group(0) if ward.get(name) or name not in WARD_DEFAULTS else ""

    return PLACEHOLDER.sub(replace, BRACKETED_PLACEHOLDER.sub(drop_empty, text))


def _load_entry(
    item: Any, line: int, category: str, display: str, ctx: ConfigContext, problems: list[Problem]
) -> Entry | None:
    if not isinstance(item, LineDict):
        problems.append(
            Problem(display, line, 'mỗi mục trong "entries" phải có id, question, answer [entry must be a mapping]')
        )
        return None
    _check_keys(item, ENTRY_KEYS, display, problems)
    before = len(problems)
    entry_id = _text(item, "id", display, problems, required=True, what="mã mục")
    if entry_id is not None and not SLUG.match(entry_id):
        problems.append(
            Problem(
                display,
                item.key_lines.get("id", line),
                f'mã "{entry_id}" không hợp lệ: chỉ dùng chữ thường không dấu, số và dấu gạch ngang, '
                "ví dụ vneid-kich-hoat [id must be a slug]",
            )
        )
    question = _text(item, "question", display, problems, required=True, what="câu hỏi")
    answer = _text(item, "answer", display, problems, required=True, what="câu trả lời")
    variants = _text_list(item, "variants", display, problems)
    tags = _text_list(item, "tags", display, problems)
    source = _text(item, "source", display, problems, required=False, what="nguồn")
    if source is not None and not re.match(r"^https?://\S+$", source):
        problems.append(
            Problem(
                display,
                item.key_lines["source"],
                'nguồn phải là một địa chỉ web bắt đầu bằng "https://" [source must be a URL]',
            )
        )
    updated = item.get("updated")
    if updated is not None:
        parsed = _as_date(updated)
        if parsed is None:
            problems.append(Problem(display, item.key_lines["updated"], _date_problem(updated)))
        updated = parsed
    review = item.get("review")
    review_days = None
    if review is not None:
        review_days = _review_days(review)
        if review_days is None:
            problems.append(
                Problem(
                    display,
                    item.key_lines["review"],
                    f'"review" = "{review}" không hợp lệ: ghi số ngày (1 đến {MAX_REVIEW_DAYS}, ví dụ 90) hoặc '
                    f"một trong: {', '.join(REVIEW_KEYWORDS)} [review must be a number of days or a keyword]",
                )
            )
    placeholders: tuple[str, ...] = ()
    if answer is not None:
        if len(answer) > MAX_ANSWER_CHARS:
            problems.append(
                Problem(
                    display,
                    item.key_lines["answer"],
                    f"câu trả lời dài ({len(answer)} ký tự, nên dưới {MAX_ANSWER_CHARS}): bot sẽ gửi thành nhiều "
                    "tin nhắn; nên viết ngắn gọn hoặc tách thành nhiều mục [long answer, sent in several messages]",
                    Severity.WARNING,
                )
            )
        placeholders = tuple(dict.fromkeys(PLACEHOLDER.findall(answer)))
        answer = _fill_placeholders(answer, ctx.ward, display, item.key_lines["answer"], problems)
    new_errors = any(p.severity is Severity.ERROR for p in problems[before:])
    if new_errors or entry_id is None or question is None or answer is None:
        return None
    return Entry(
        id=entry_id,
        category=category,
        question=question,
        answer=answer,
        variants=variants,
        tags=tags,
        source=source,
        updated=updated,
        file=display,
        line=line,
        review_days=review_days,
        placeholders=placeholders,
    )


def _load_topic(data: Any, display: str, ctx: ConfigContext, problems: list[Problem]) -> Category | None:
    if not isinstance(data, LineDict):
        problems.append(
            Problem(
                display,
                1,
                'tệp chủ đề phải có các khóa "category", "title" và "entries" [topic file must be a mapping]',
            )
        )
        return None
    _check_keys(data, TOPIC_KEYS, display, problems)
    slug = _text(data, "category", display, problems, required=True, what="mã chủ đề")
    if slug is not None and not SLUG.match(slug):
        problems.append(
            Problem(
                display,
                data.key_lines["category"],
                f'mã chủ đề "{slug}" không hợp lệ: chỉ dùng chữ thường không dấu, số và dấu gạch ngang '
                "[category must be a slug]",
            )
        )
        slug = None
    title = _text(data, "title", display, problems, required=True, what="tên chủ đề")
    raw_entries = data.get("entries")
    entries: list[Entry] = []
    if not isinstance(raw_entries, LineList):
        problems.append(
            Problem(
                display,
                data.key_lines.get("entries", data.line),
                'thiếu danh sách "entries" (các câu hỏi) [entries must be a list]',
            )
        )
    else:
        for item, line in zip(raw_entries, raw_entries.item_lines, strict=True):
            entry = _load_entry(item, line, slug or "", display, ctx, problems)
            if entry is not None:
                entries.append(entry)
    if slug is None or title is None:
        return None
    return Category(slug=slug, title=title, entries=tuple(entries), file=display)


def _read_ward(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    problems: list[Problem] = []
    _check_keys(data, set(WARD_DEFAULTS), display, problems)
    ctx.ward_file = display
    ctx.ward_lines = {str(k): line for k, line in data.key_lines.items()}
    for key in WARD_DEFAULTS:
        value = _text(data, key, display, problems, required=False, what=key)
        if value:
            ctx.ward[key] = value
    return problems


def _read_synonyms(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    problems: list[Problem] = []
    _check_keys(data, {"abbreviations", "synonyms"}, display, problems)
    abbreviations = data.get("abbreviations") or LineDict()
    if not isinstance(abbreviations, LineDict):
        problems.append(
            Problem(
                display,
                data.key_lines["abbreviations"],
                '"abbreviations" phải là các dòng "viết tắt: nghĩa" [abbreviations must be "short: meaning" lines]',
            )
        )
    else:
        for key, value in abbreviations.items():
            readings = value if isinstance(value, list) else [value]
            if not all(isinstance(r, str) and r.strip() for r in readings):
                problems.append(
                    Problem(
                        display, abbreviations.key_lines[key], f'"{key}": nghĩa phải là chữ [the meaning must be text]'
                    )
                )
                continue
            ctx.abbreviations[str(key)] = tuple(str(r) for r in readings)
    groups = data.get("synonyms") or LineList()
    if not isinstance(groups, LineList):
        problems.append(
            Problem(
                display,
                data.key_lines["synonyms"],
                '"synonyms" phải là một danh sách nhóm [synonyms must be a list of groups]',
            )
        )
    else:
        for group, line in zip(groups, groups.item_lines, strict=True):
            if not isinstance(group, list) or len(group) < 2 or not all(isinstance(p, str) for p in group):
                problems.append(
                    Problem(
                        display,
                        line,
                        "mỗi nhóm đồng nghĩa là một danh sách từ 2 cụm từ trở lên, ví dụ [căn cước, cccd] "
                        "[synonym group must list at least two phrases]",
                    )
                )
                continue
            ctx.synonyms.append(tuple(group))
    return problems


register_config_file("_ward", _read_ward)
register_config_file("_synonyms", _read_synonyms)


def _newest_last(items: list[tuple[str, int, int]], age: dict[str, int]) -> list[tuple[str, int, int]]:
    """(file, line, load order) sorted oldest first: older file, then earlier line in the same file."""
    return sorted(items, key=lambda item: (age.get(item[0], 0), item[2], item[1]))


def _duplicates(categories: list[Category], age: dict[str, int], category_lines: dict[str, int]) -> list[Problem]:
    """A repeated category slug or entry id is reported at the newer copy, naming the older one it clashes with.

    "Newer" is the file saved more recently; within one file (or files saved together) the later one.
    """
    problems: list[Problem] = []
    slugs: dict[str, list[tuple[str, int, int]]] = {}
    ids: dict[str, list[tuple[str, int, int]]] = {}
    order = 0
    for category in categories:
        slugs.setdefault(category.slug, []).append((category.file, category_lines.get(category.file, 1), order))
        for entry in category.entries:
            order += 1
            ids.setdefault(entry.id, []).append((entry.file, entry.line, order))
    for slug, places in slugs.items():
        first, *later = _newest_last(places, age)
        problems += [
            Problem(
                file,
                line,
                f'mã chủ đề "{slug}" đã dùng trong {first[0]}:{first[1]} (tệp có trước): hãy đặt mã chủ đề khác '
                "cho tệp này hoặc chuyển các mục sang tệp kia [duplicate category]",
            )
            for file, line, _ in later
        ]
    for entry_id, places in ids.items():
        first, *later = _newest_last(places, age)
        problems += [
            Problem(
                file,
                line,
                f'mã "{entry_id}" đã dùng ở {first[0]}:{first[1]} (mục có trước): mỗi mục cần một mã riêng, '
                "hãy đặt mã khác cho mục này [duplicate id]",
            )
            for file, line, _ in later
        ]
    return problems


def _empty_ward_fields(categories: list[Category], ctx: ConfigContext) -> list[Problem]:
    """Warn once per ``_ward.yaml`` field that answers use while the ward left it empty."""
    users: dict[str, list[str]] = {}
    for category in categories:
        for entry in category.entries:
            for name in entry.placeholders:
                if name in WARD_DEFAULTS and not ctx.ward.get(name):
                    users.setdefault(name, []).append(entry.id)
    if ctx.ward_file is None:
        return []  # no _ward.yaml at all: the neutral defaults are the documented behaviour
    return [
        Problem(
            ctx.ward_file,
            ctx.ward_lines.get(name, 1),
            f'"{name}" đang để trống nhưng {len(ids)} câu trả lời dùng {{{{ward.{name}}}}} (ví dụ mục "{ids[0]}"); '
            f'người dân sẽ đọc câu chung chung "{WARD_DEFAULTS[name]}": hãy điền thông tin của phường/xã '
            "[empty ward field used by answers]",
            Severity.WARNING,
        )
        for name, ids in users.items()
    ]


def _read_topic(
    topic: Path, raw: bytes, key: tuple[str, bytes, tuple[tuple[str, str], ...]], ctx: ConfigContext
) -> _Topic:
    """Parse and validate one topic file (``raw``: its bytes)."""
    display = key[0]
    problems: list[Problem] = []
    data = _read_yaml(topic, display, problems, raw)
    category = None if data is None else _load_topic(data, display, ctx, problems)
    if category is None:
        return _Topic(key, None, tuple(problems), 1)
    for entry in category.entries:
        message = (
            f'mục "{entry.id}" chưa có "source" (trang chính thức làm căn cứ) [missing source]'
            if entry.source is None
            else source_problem(entry.id, entry.source)
        )
        if message:
            problems.append(Problem(entry.file, entry.line, message, Severity.WARNING))
    return _Topic(key, category, tuple(problems), data.key_lines.get("category", 1))


def load_knowledge(
    path: Path, *, display: Callable[[Path], str] = str, previous: LoadResult | None = None
) -> LoadResult:
    """Load and validate a knowledge folder (or one topic file, with its folder's configuration).

    ``display`` names each file in problems and entries (the path as given by default; a check of a temporary
    copy names files as they are called in the real folder). ``previous``: the last load of the same folder,
    whose files are taken over as read where their bytes (and the ward's values) did not change.
    """
    path = Path(path)
    problems: list[Problem] = []
    ctx = ConfigContext()
    if not path.exists():
        problems.append(Problem(str(path), 0, "không tìm thấy thư mục hoặc tệp tri thức [path not found]"))
        return LoadResult(None, problems, ctx)
    files = knowledge_files(path)
    folder = path if path.is_dir() else path.parent
    configs = sorted(p for p in folder.iterdir() if p.name.startswith("_") and p.suffix in {".yaml", ".yml"})
    topics = [p for p in files if not p.name.startswith("_")]

    for cfg in configs:
        data = _read_yaml(cfg, display(cfg), problems)
        if data is None:
            continue
        reader = _CONFIG_READERS.get(cfg.stem)
        if reader is None:
            problems.append(
                Problem(
                    display(cfg),
                    1,
                    "tệp cấu hình không được dùng tới, bỏ qua [unknown configuration file, ignored]",
                    Severity.WARNING,
                )
            )
            continue
        if not isinstance(data, LineDict):
            problems.append(
                Problem(
                    display(cfg),
                    1,
                    "tệp cấu hình phải gồm các dòng khóa: giá trị [a configuration file must be key: value lines]",
                )
            )
            continue
        problems.extend(reader(data, display(cfg), ctx))

    categories: list[Category] = []
    category_lines: dict[str, int] = {}
    age: dict[str, int] = {}  # file -> modification time: of two duplicates, the newer one is blamed
    ward_values = tuple(sorted(ctx.ward.items()))
    read: dict[str, _Topic] = {}
    for topic in topics:
        raw = topic.read_bytes()
        key = (display(topic), hashlib.blake2b(raw, digest_size=16).digest(), ward_values)
        known = previous.topics.get(str(topic)) if previous is not None else None
        parsed = known if known is not None and known.key == key else _read_topic(topic, raw, key, ctx)
        read[str(topic)] = parsed
        problems.extend(parsed.problems)
        category = parsed.category
        if category is None:
            continue
        age[category.file] = topic.stat().st_mtime_ns
        category_lines[category.file] = parsed.category_line
        categories.append(category)
    problems += _duplicates(categories, age, category_lines)
    problems += _empty_ward_fields(categories, ctx)
    if not categories and not any(p.severity is Severity.ERROR for p in problems):
        problems.append(Problem(display(path), 0, "không có tệp chủ đề nào (*.yaml) [no topic files]"))
    has_errors = any(p.severity is Severity.ERROR for p in problems)
    ward = WardInfo(**{f.name: ctx.ward[f.name] for f in fields(WardInfo) if f.name in ctx.ward})
    kb = (
        None
        if has_errors
        else KnowledgeBase(
            categories=tuple(categories),
            ward=ward,
            abbreviations=dict(ctx.abbreviations),
            synonyms=tuple(ctx.synonyms),
        )
    )
    return LoadResult(kb, sorted(problems, key=lambda p: (p.file, p.line)), ctx, read)


def topic_problems(data: LineDict, display: str, ctx: ConfigContext) -> list[Problem]:
    """Every problem of ``data`` read as a topic file (for parts that keep topic-shaped drafts elsewhere)."""
    problems: list[Problem] = []
    _load_topic(data, display, ctx, problems)
    return problems
