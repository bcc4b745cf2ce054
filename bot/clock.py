"""Time, one way: an injectable `Clock` returning aware UTC moments, and `as_utc` for what SQLite hands back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import overload

__all__ = ["Clock", "as_utc", "utc_now"]

Clock = Callable[[], dt.datetime]  # returns an aware UTC moment; tests pass a fake they move forward


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(moment: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything Pana stores is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
