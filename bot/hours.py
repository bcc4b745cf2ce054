"""Lawyers' working hours: parsed from a setting such as "Mon-Fri 09:00-18:00; Sat 10:00-14:00"."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.i18n import N_

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The English names double as msgids, so the reply can name the day in the user's language.
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SPAN = re.compile(r"^(?P<days>[A-Za-z,\-\s]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


# Listed so that Babel extracts them; DAY_NAMES holds the same strings.
_WEEKDAY_MSGIDS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


@dataclass(frozen=True, slots=True)
class Span:
    """Some days of the week with one opening interval each (start before end, same day)."""

    days: tuple[int, ...]  # 0 = Monday
    start: dt.time
    end: dt.time
    as_range: bool  # written "Mon-Fri" (named first–last) rather than "Mon,Wed"


def _day(word: str, text: str) -> int:
    key = word.strip().lower()[:3]
    if key not in DAYS:
        raise ValueError(f"unknown day {word.strip()!r} in working hours {text!r}")
    return DAYS.index(key)


def _time(value: str, text: str) -> dt.time:
    hours, minutes = (int(part) for part in value.split(":"))
    if hours == 24 and minutes == 0:
        return dt.time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"impossible time {value!r} in working hours {text!r}")
    return dt.time(hours, minutes)


def _span(part: str, text: str) -> Span:
    match = SPAN.match(part.strip())
    if not match:
        raise ValueError(f"cannot read {part.strip()!r} in working hours {text!r} (write e.g. 'Mon-Fri 09:00-18:00')")
    days_text = match.group("days").replace(" ", "")
    if "-" in days_text and "," not in days_text:
        first, last = (_day(word, text) for word in days_text.split("-", 1))
        days = tuple(range(first, last + 1)) if first <= last else (*range(first, 7), *range(0, last + 1))
        as_range = True
    else:
        days = tuple(_day(word, text) for word in days_text.split(","))
        as_range = False
    start, end = _time(match.group("start"), text), _time(match.group("end"), text)
    if start >= end:
        raise ValueError(f"{part.strip()!r}: opening must be before closing (no overnight hours)")
    return Span(days, start, end, as_range)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    spans: tuple[Span, ...]
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> WorkingHours:
        """Read "Mon-Fri 09:00-18:00; Sat 10:00-14:00"; raise ValueError naming what is wrong."""
        parts = [p for p in text.split(";") if p.strip()]
        if not parts:
            raise ValueError("working hours are empty (write e.g. 'Mon-Fri 09:00-18:00')")
        return cls(tuple(_span(part, text) for part in parts), ZoneInfo(timezone))

    def _intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        found = []
        for span in self.spans:
            if day.weekday() in span.days:
                start = dt.datetime.combine(day, span.start, self.zone)
                found.append((start, dt.datetime.combine(day, span.end, self.zone)))
        return sorted(found)

    def is_open(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(self.zone)
        return any(start <= local < end for start, end in self._intervals(local.date()))

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        """The moment lawyers are next at work (`moment` itself when they are now)."""
        local = moment.astimezone(self.zone)
        for offset in range(8):
            for start, end in self._intervals(local.date() + dt.timedelta(days=offset)):
                if local < end:
                    return max(start, local)
        raise AssertionError("a parsed week always has an opening")  # parse() refuses an empty week

    def unchanged_until(self, moment: dt.datetime) -> dt.datetime:
        """A moment up to which (not included) `is_open` answers as it does at `moment`, and `next_opening` too
        while closed: the opening interval's end when open (the earliest, if spans overlap), else the next opening."""
        local = moment.astimezone(self.zone)
        ends = [end for start, end in self._intervals(local.date()) if start <= local < end]
        return min(ends) if ends else self.next_opening(moment)

    def describe(self, gettext: Callable[[str], str]) -> str:
        """ "Monday–Friday 09:00–18:00; Saturday 10:00–14:00" with the day names translated."""

        def name(day: int) -> str:
            return gettext(DAY_NAMES[day])

        pieces = []
        for span in self.spans:
            if span.as_range and len(span.days) > 1:
                days = f"{name(span.days[0])}–{name(span.days[-1])}"
            else:
                days = ", ".join(name(day) for day in span.days)
            pieces.append(f"{days} {_clock(span.start)}–{_clock(span.end)}")
        return "; ".join(pieces)

    def when(self, moment: dt.datetime, gettext: Callable[[str], str]) -> str:
        """The next opening as "Monday 09:00" in the lawyers' time zone."""
        opening = self.next_opening(moment)
        return f"{gettext(DAY_NAMES[opening.weekday()])} {_clock(opening.timetz())}"


def _clock(moment: dt.time) -> str:
    return "24:00" if moment == dt.time.max else moment.strftime("%H:%M")
