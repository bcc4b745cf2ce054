"""Twilio's Retry-After, as the sender reads it: delta-seconds or an HTTP date; anything else is ignored."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.channels.whatsapp.api import retry_after_seconds

pytestmark = pytest.mark.fast

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("Tue, 01 Dec 2026 06:00:30 GMT", 30.0),
        ("Tue, 01 Dec 2026 05:59:00 GMT", 0.0),  # already past: try now
        (None, None),
        ("", None),
        ("²", None),  # a Unicode digit is not a number of seconds
        ("-1", None),
        ("1.5", None),
        ("9999999999", None),  # more than nine digits
        ("soon", None),
        ("Tue, 01 Dec 2026 06:00:30", None),  # an HTTP date is always GMT
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds
