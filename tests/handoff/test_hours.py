"""Working hours as administrators write them: parsed strictly, evaluated in the lawyers' time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from bot.hours import WorkingHours
from bot.settings import LawyerSettings

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

ALMATY = "Asia/Almaty"  # UTC+5


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)  # 23 Nov 2026 is a Monday


def test_open_and_closed_in_the_lawyers_time_zone() -> None:
    hours = WorkingHours.parse("Mon-Fri 09:00-18:00", ALMATY)
    assert hours.is_open(utc(23, 4))  # Monday 09:00 in Almaty
    assert not hours.is_open(utc(23, 3, 59))
    assert not hours.is_open(utc(23, 13))  # 18:00 in Almaty: closed
    assert not hours.is_open(utc(28, 7))  # Saturday


def test_next_opening_skips_the_weekend() -> None:
    hours = WorkingHours.parse("Mon-Fri 09:00-18:00", ALMATY)
    opening = hours.next_opening(utc(27, 14))  # Friday 19:00 in Almaty
    assert opening.astimezone(dt.UTC) == utc(30, 4)
    assert hours.when(utc(27, 14), lambda m: m) == "Monday 09:00"
    assert hours.next_opening(utc(24, 6)) == utc(24, 6), "now, while open"


def test_several_spans_and_lists_of_days() -> None:
    hours = WorkingHours.parse("Mon,Wed 10:00-13:00; sat 09:30-12:00", ALMATY)
    assert hours.describe(lambda m: m) == "Monday, Wednesday 10:00–13:00; Saturday 09:30–12:00"
    assert hours.is_open(utc(28, 5))  # Saturday 10:00 in Almaty
    assert not hours.is_open(utc(24, 6))  # Tuesday
    assert WorkingHours.parse("Mon-Sun 00:00-24:00").is_open(utc(29, 23, 59))


@pytest.mark.parametrize("text", ["", "weekdays 9-18", "Mon-Fri 18:00-09:00", "Mon-Xyz 09:00-18:00", "Mon 25:00-26:00"])
def test_a_wrong_setting_stops_start_up_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError):
        WorkingHours.parse(text)
    with pytest.raises(ValidationError):
        LawyerSettings(hours=text)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        LawyerSettings(timezone="Asia/Atlantis")
