"""Numbers that people and platforms send, read strictly.

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses or reads as another number, and a long
run of digits overflows the database's integer columns. Only 1 to 9 ASCII digits are a number here.
"""

from __future__ import annotations

import re

__all__ = ["parse_number"]

_NUMBER = re.compile(r"[0-9]{1,9}")


def parse_number(text: str) -> int | None:
    """The number `text` spells, or None when it is not 1 to 9 ASCII digits."""
    return int(text) if _NUMBER.fullmatch(text) else None
