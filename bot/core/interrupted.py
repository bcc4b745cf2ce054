"""Which stored message a failed turn was about, carried on the exception itself.

A turn can fail after its message was committed (the database went away between storing and deciding).
The outage reply must then know the message's id: once that reply went out, the message counts as
answered, so the recovery sweep does not send a second, different answer later.
"""

from __future__ import annotations

import contextlib

_ATTRIBUTE = "_pana_stored_message_id"


def note_stored(error: BaseException, message_id: int) -> None:
    """Record on `error` that the message had been stored (as `message_id`) before the turn failed."""
    with contextlib.suppress(AttributeError, TypeError):  # a type without instance attributes: nothing carried
        setattr(error, _ATTRIBUTE, message_id)


def stored_message_id(error: BaseException) -> int | None:
    value = getattr(error, _ATTRIBUTE, None)
    return value if isinstance(value, int) else None
