"""Typed, validated knowledge-base objects: entries, categories and the ward's own configuration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    """One question and its answer, as staff wrote it (answer placeholders already filled in)."""

    id: str
    category: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: str | None = None
    updated: dt.date | None = None
    file: str = ""
    line: int = 0
    review_days: int | None = None  # the entry's own review period (shorter than the global one), if set
    placeholders: tuple[str, ...] = ()  # the ``{{ward.*}}`` fields its answer uses, before filling in


@dataclass(frozen=True)
class Category:
    """A topic file: its slug, its menu title and its entries in file order."""

    slug: str
    title: str
    entries: tuple[Entry, ...]
    file: str = ""


@dataclass(frozen=True)
class WardInfo:
    """The ward's own contacts, from ``_ward.yaml``; every field optional, with neutral defaults."""

    name: str = "UBND phường/xã"
    address: str = ""
    phone: str = ""
    email: str = ""
    zalo: str = ""
    website: str = ""
    working_hours: str = ""
    digital_team_name: str = "Tổ công nghệ số cộng đồng"
    digital_team_phone: str = ""
    digital_team_place: str = ""
    police_phone: str = ""

    def contact_line(self) -> str:
        """A one-paragraph way to reach the ward, for declines and error messages."""
        parts = [self.name]
        if self.address:
            parts.append(f"địa chỉ {self.address}")
        if self.phone:
            parts.append(f"điện thoại {self.phone}")
        if self.working_hours:
            parts.append(f"giờ làm việc {self.working_hours}")
        return ", ".join(parts)


@dataclass(frozen=True)
class KnowledgeBase:
    """The whole validated knowledge base: categories, entries by id, the ward's configuration."""

    categories: tuple[Category, ...]
    ward: WardInfo = field(default_factory=WardInfo)
    abbreviations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: tuple[tuple[str, ...], ...] = ()

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every entry, category by category, in file order."""
        return tuple(e for c in self.categories for e in c.entries)

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return self._by_id.get(entry_id)

    def category(self, slug: str) -> Category | None:
        """The category with this slug, or None."""
        return next((c for c in self.categories if c.slug == slug), None)

    @property
    def _by_id(self) -> dict[str, Entry]:
        cache: dict[str, Entry] | None = self.__dict__.get("_id_cache")
        if cache is None:
            cache = {e.id: e for e in self.entries}
            object.__setattr__(self, "_id_cache", cache)
        return cache
