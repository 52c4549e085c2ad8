"""Office hours: when ward staff answer, so a citizen asking outside them is told when to expect an answer.

The setting reads like ``mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30``: groups separated by ``;``, each a day
or day range (``mon``…``sun``, or Vietnamese ``t2``…``t7``, ``cn``) and one or more ``HH:MM-HH:MM`` periods. An
empty setting means staff answer at any time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
        "t2": 0, "t3": 1, "t4": 2, "t5": 3, "t6": 4, "t7": 5, "cn": 6}  # fmt: skip
_PERIOD = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class OfficeHoursError(ValueError):
    """The setting cannot be read; the message says which part."""


@dataclass(frozen=True)
class OfficeHours:
    """Weekly opening periods: weekday → list of (start, end) times."""

    periods: dict[int, tuple[tuple[dt.time, dt.time], ...]]

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """Read the setting; raises :class:`OfficeHoursError` naming the part it cannot read."""
        periods: dict[int, list[tuple[dt.time, dt.time]]] = {}
        for group in (g.strip() for g in text.split(";")):
            if not group:
                continue
            days_part, _, times_part = group.partition(" ")
            days = _days(days_part.strip().lower())
            for period in (p.strip() for p in times_part.replace(" ", "").split(",") if p.strip()):
                m = _PERIOD.match(period)
                if not m:
                    raise OfficeHoursError(f"cannot read the period {period!r}")
                try:
                    start, end = dt.time(int(m[1]), int(m[2])), dt.time(int(m[3]), int(m[4]))
                except ValueError as err:
                    raise OfficeHoursError(f"impossible time in {period!r}") from err
                if end <= start:
                    raise OfficeHoursError(f"the period {period!r} ends before it starts")
                for day in days:
                    periods.setdefault(day, []).append((start, end))
            if not times_part.strip():
                raise OfficeHoursError(f"no hours given for {days_part!r}")
        return cls({day: tuple(sorted(p)) for day, p in periods.items()})

    @property
    def always(self) -> bool:
        """True when no hours are set (staff answer at any time)."""
        return not self.periods

    def is_open(self, when: dt.datetime) -> bool:
        """Whether ``when`` (local time) falls inside a period."""
        if self.always:
            return True
        return any(start <= when.time() < end for start, end in self.periods.get(when.weekday(), ()))

    def next_open(self, when: dt.datetime) -> dt.datetime:
        """``when`` itself if open, else the start of the next period (local time, same tzinfo)."""
        if self.is_open(when):
            return when
        for offset in range(8):
            day = (when + dt.timedelta(days=offset)).date()
            for start, _end in self.periods.get(day.weekday(), ()):
                candidate = dt.datetime.combine(day, start, tzinfo=when.tzinfo)
                if candidate > when:
                    return candidate
        return when  # unreachable with at least one period


def _days(text: str) -> list[int]:
    first, _, last = text.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise OfficeHoursError(f"cannot read the days {text!r}")
    if not last:
        return [DAYS[first]]
    start, end = DAYS[first], DAYS[last]
    return [d % 7 for d in range(start, end + 1 if end >= start else end + 8)]
