"""What Pana can truthfully say about reaching a lawyer, from the running configuration.

Content never promises a lawyer "at once": lawyers work `LAWYER_HOURS` and may not be registered at all.
A topic answer that offers a lawyer ends with the one sentence that is true now.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol

from bot.clock import Clock, utc_now
from bot.hours import WorkingHours
from bot.i18n import Gettext, Translator, bound
from bot.languages import Language


class Availability(enum.Enum):
    WITHIN_HOURS = "within_hours"
    NEXT_OPENING = "next_opening"  # lawyers are registered but off work: the next working morning
    NO_LAWYER = "no_lawyer"


def lawyer_availability(hours: WorkingHours, lawyer_registered: bool, now: dt.datetime) -> Availability:
    """Which of the three situations holds at `now`."""
    if not lawyer_registered:
        return Availability.NO_LAWYER
    return Availability.WITHIN_HOURS if hours.is_open(now) else Availability.NEXT_OPENING


def availability_sentence(availability: Availability, hours: WorkingHours, now: dt.datetime, _: Gettext) -> str:
    """The sentence for one situation in the language `_` translates to."""
    if availability is Availability.NO_LAWYER:
        return _(
            "No lawyer answers through Pana at the moment. «Talk to a lawyer» shows free legal-aid "
            "organisations instead."
        )
    schedule = {"hours": hours.describe(_), "timezone": hours.zone.key}
    if availability is Availability.WITHIN_HOURS:
        return _(
            "Lawyers are at work now ({hours}, {timezone}). Choose «Talk to a lawyer» to join the queue: "
            "a lawyer answers in turn."
        ).format(**schedule)
    return _(
        "Lawyers are not at work now ({hours}, {timezone}). If you choose «Talk to a lawyer», "
        "a lawyer can answer from {when}."
    ).format(when=hours.when(now, _), **schedule)


class LawyerRoster(Protocol):
    async def any_active(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Said:
    """A sentence and the moments between which it stays true (`until` None: whatever the hour)."""

    sentence: str
    since: dt.datetime
    until: dt.datetime | None

    def holds_at(self, now: dt.datetime) -> bool:
        return self.until is None or self.since <= now < self.until


class LawyerAvailabilityNote:
    """The core's `LawyerAvailability` port: asks the roster and the clock each time.

    The roster's answer may be a few seconds old (bot/storage/lawyer_roster.py): a topic answer asks it on
    every turn, and a lawyer registered a moment ago by another process is mentioned seconds later.
    The sentence is built once per language and roster answer and kept until the hours change it (the
    opening interval's end, or the next opening), so each turn pays a clock read and two comparisons.
    """

    def __init__(
        self, hours: WorkingHours, roster: LawyerRoster, translator: Translator, clock: Clock = utc_now
    ) -> None:
        self._hours = hours
        self._roster = roster
        self._translator = translator
        self._clock = clock
        self._said: dict[tuple[Language, bool], _Said] = {}  # at most languages × 2

    @classmethod
    def from_schedule(
        cls, hours: str, timezone: str, roster: LawyerRoster, translator: Translator, clock: Clock = utc_now
    ) -> LawyerAvailabilityNote:
        """Built from the `LAWYER_HOURS` and `LAWYER_TIMEZONE` settings."""
        return cls(WorkingHours.parse(hours, timezone), roster, translator, clock)

    async def sentence(self, language: Language) -> str:
        now = self._clock()
        registered = await self._roster.any_active()
        said = self._said.get((language, registered))
        if said is None or not said.holds_at(now):
            said = self._say(language, registered, now)
            self._said[language, registered] = said
        return said.sentence

    def _say(self, language: Language, registered: bool, now: dt.datetime) -> _Said:
        availability = lawyer_availability(self._hours, registered, now)
        sentence = availability_sentence(availability, self._hours, now, bound(self._translator, language))
        until = None if availability is Availability.NO_LAWYER else self._hours.unchanged_until(now)
        return _Said(sentence, now, until)
