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
from bot.i18n import Translations
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
