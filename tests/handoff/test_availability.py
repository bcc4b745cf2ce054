"""What a topic answer says about reaching a lawyer: within hours, outside hours, no lawyer registered."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import App
from bot.core import payloads
from bot.handoff.availability import (
    Availability,
    LawyerAvailabilityNote,
    availability_sentence,
    lawyer_availability,
)
from bot.hours import WorkingHours
from bot.i18n import Translations, bound
from bot.languages import LANGUAGES, Language
from tests.conftest import REPO, Say

HOURS = WorkingHours.parse("Mon-Fri 09:00-18:00", "Asia/Almaty")
ALMATY = HOURS.zone
TUESDAY_NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=ALMATY)
SATURDAY_NIGHT = dt.datetime(2026, 12, 5, 3, 0, tzinfo=ALMATY)
TRANSLATIONS = Translations(REPO / "locales")


def english(message: str) -> str:
    return message


class Roster:
    def __init__(self, *lawyers: str) -> None:
        self.lawyers = list(lawyers)

    async def any_active(self) -> bool:
        return bool(self.lawyers)


def test_within_hours_with_a_lawyer_says_lawyers_are_at_work() -> None:
    assert lawyer_availability(HOURS, True, TUESDAY_NOON) is Availability.WITHIN_HOURS
    sentence = availability_sentence(Availability.WITHIN_HOURS, HOURS, TUESDAY_NOON, english)
    assert sentence.startswith("Lawyers are at work now (Monday–Friday 09:00–18:00, Asia/Almaty)")
    assert "at once" not in sentence


def test_outside_hours_names_the_next_working_morning() -> None:
    assert lawyer_availability(HOURS, True, SATURDAY_NIGHT) is Availability.NEXT_OPENING
    sentence = availability_sentence(Availability.NEXT_OPENING, HOURS, SATURDAY_NIGHT, english)
    assert "not at work now" in sentence
    assert sentence.endswith("a lawyer can answer from Monday 09:00.")


def test_an_evening_after_closing_points_to_the_next_morning() -> None:
    evening = dt.datetime(2026, 12, 1, 18, 30, tzinfo=ALMATY)
    assert lawyer_availability(HOURS, True, evening) is Availability.NEXT_OPENING
    assert availability_sentence(Availability.NEXT_OPENING, HOURS, evening, english).endswith("Wednesday 09:00.")


@pytest.mark.parametrize("moment", [TUESDAY_NOON, SATURDAY_NIGHT])
def test_no_lawyer_registered_wins_over_the_hours(moment: dt.datetime) -> None:
    assert lawyer_availability(HOURS, False, moment) is Availability.NO_LAWYER
    sentence = availability_sentence(Availability.NO_LAWYER, HOURS, moment, english)
    assert sentence.startswith("No lawyer answers through Pana")


@pytest.mark.asyncio
async def test_the_note_asks_the_roster_and_the_clock_each_time_in_the_persons_language() -> None:
    roster = Roster()
    moments = iter([SATURDAY_NIGHT, SATURDAY_NIGHT, TUESDAY_NOON])
    note = LawyerAvailabilityNote(HOURS, roster, TRANSLATIONS, lambda: next(moments).astimezone(dt.UTC))
    assert (await note.sentence("ru")).startswith("Сейчас через Pana не отвечает ни один юрист")
    roster.lawyers.append("Aigerim")
    night = await note.sentence("kk")
    assert night.startswith("Заңгерлер қазір жұмыста емес") and night.endswith(
        "дүйсенбі 09:00 бастап жауап бере алады."
    )
    assert (await note.sentence("en")).startswith("Lawyers are at work now")


def test_from_schedule_reads_the_lawyer_settings() -> None:
    note = LawyerAvailabilityNote.from_schedule("Sat 10:00-14:00", "UTC", Roster("x"), TRANSLATIONS)
    assert isinstance(note, LawyerAvailabilityNote)
    with pytest.raises(ValueError):
        LawyerAvailabilityNote.from_schedule("someday", "UTC", Roster(), TRANSLATIONS)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _fresh(hours: WorkingHours, registered: bool, now: dt.datetime, language: Language) -> str:
    """The sentence built from nothing, as the note built it on every call before it kept one."""
    availability = lawyer_availability(hours, registered, now)
    return availability_sentence(availability, hours, now, bound(TRANSLATIONS, language))


# Overlapping spans, a day that closes at 24:00, a weekend opening: every kind of boundary.
AWKWARD = WorkingHours.parse("Mon-Fri 09:00-18:00; Fri 17:00-24:00; Sat 10:00-14:00", "Asia/Almaty")


@pytest.mark.asyncio
async def test_the_kept_sentence_is_the_fresh_one_at_every_minute_of_a_week_and_around_each_boundary() -> None:
    roster = Roster("Aigerim")
    clock = Clock(dt.datetime(2026, 11, 30, 0, 0, tzinfo=AWKWARD.zone))  # a Monday
    note = LawyerAvailabilityNote(AWKWARD, roster, TRANSLATIONS, clock)
    steps = [dt.timedelta(minutes=1)] * (7 * 24 * 60 + 1)
    kinds = set()
    for step in steps:
        # just before, at and just after each minute: a boundary is never late by a second or a microsecond
        for offset in (dt.timedelta(microseconds=-1), dt.timedelta(0), dt.timedelta(seconds=1)):
            moment = clock.now + offset
            clock.now, real = moment, clock.now
            kinds.add(lawyer_availability(AWKWARD, True, moment))
            assert await note.sentence("en") == _fresh(AWKWARD, True, moment, "en"), moment
            clock.now = real
        clock.now += step
    assert kinds == {Availability.WITHIN_HOURS, Availability.NEXT_OPENING}


@pytest.mark.asyncio
async def test_the_kept_sentence_follows_a_clock_that_jumps_back_and_a_lawyer_registered_a_moment_ago() -> None:
    roster = Roster()
    monday = dt.datetime(2026, 11, 30, 0, 0, tzinfo=AWKWARD.zone)
    clock = Clock(monday)
    note = LawyerAvailabilityNote(AWKWARD, roster, TRANSLATIONS, clock)
    moments = [monday + dt.timedelta(minutes=37 * n) for n in range(300)]
    for n, moment in enumerate(sorted(moments, key=lambda m: (m.minute * 7919) % 997)):  # back and forth
        if n % 5 == 0:
            roster.lawyers = [] if roster.lawyers else ["Aigerim"]  # registered, removed: seen at once
        clock.now = moment
        for language in LANGUAGES:
            expected = _fresh(AWKWARD, bool(roster.lawyers), moment, language)
            assert await note.sentence(language) == expected, (moment, language)


def test_the_hours_say_until_when_they_stay_as_they_are() -> None:
    friday = dt.datetime(2026, 12, 4, tzinfo=AWKWARD.zone)
    at = friday.replace
    assert AWKWARD.unchanged_until(at(hour=8, minute=59)) == at(hour=9)  # closed: the next opening
    assert AWKWARD.unchanged_until(at(hour=12)) == at(hour=18)  # the earliest end of the spans open now
    assert AWKWARD.unchanged_until(at(hour=18)) == dt.datetime.combine(friday.date(), dt.time.max, AWKWARD.zone)
    saturday_night = dt.datetime(2026, 12, 5, 15, 0, tzinfo=AWKWARD.zone)
    assert AWKWARD.unchanged_until(saturday_night) == dt.datetime(2026, 12, 7, 9, 0, tzinfo=AWKWARD.zone)


@pytest.mark.asyncio
async def test_a_topic_answer_says_what_is_true_now_about_reaching_a_lawyer(say: Say, app: App) -> None:
    """Wired in the running assistant: no lawyer registered, then the hours once one is."""
    topic = payloads.topic("education")
    first = await say(payload=topic, language_hint="en")
    assert first.replies[-1].text.endswith(availability_sentence(Availability.NO_LAWYER, HOURS, TUESDAY_NOON, english))
    await app.handoff.lawyers.add(4242, "Aigerim", ("en",))
    hours = WorkingHours.parse(app.settings.lawyers.hours, app.settings.lawyers.timezone)
    now = dt.datetime.now(dt.UTC)
    later = await say(payload=topic, language_hint="en")
    expected = availability_sentence(lawyer_availability(hours, True, now), hours, now, english)
    assert later.replies[-1].text.endswith(expected)
    reviewed = app.catalog.topics["education"].reviewed_on
    assert f"Checked: {reviewed:%B %Y}" in later.replies[0].text
