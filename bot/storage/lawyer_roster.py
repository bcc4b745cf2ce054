"""Who the active lawyers are, kept in the process for a few seconds, so an ordinary person's update asks nothing.

Every Telegram update asks whether its sender is a lawyer, and every topic answer whether any lawyer is
registered; the answers change when an administrator adds or removes a lawyer, a few times a month. So each
process keeps the active lawyers' Telegram ids and reads them again once they are `max_age` seconds old.

Staleness cuts one way only. An id in the set is checked against the record on every update
(bot/storage/lawyers.py), so a removed lawyer is a user again at once, in every process. A lawyer added by
another process (`pana lawyers add`, another worker's console) is recognised within `max_age`; one added or
removed through this process's store, at once (the store forgets the set).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

ROSTER_MAX_AGE_SECONDS = 3.0  # a lawyer registered by another process waits at most this long to be one here


@dataclass(frozen=True, slots=True)
class Roster:
    telegram_ids: frozenset[int]  # the active lawyers who have a Telegram account
    any_active: bool  # web-console-only lawyers count too


class RosterCache:
    """The latest `Roster`, read again when older than `max_age`; one read at a time, however many ask."""

    def __init__(
        self,
        load: Callable[[], Awaitable[Roster]],
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._max_age = ROSTER_MAX_AGE_SECONDS if max_age is None else max_age
        self._clock = clock
        self._roster: Roster | None = None
        self._read_at = 0.0
        self._generation = 0  # moves on when the roster is forgotten: a read begun before then is not kept
        self._lock = asyncio.Lock()

    def _fresh(self) -> Roster | None:
        if self._roster is not None and self._clock() - self._read_at < self._max_age:
            return self._roster
        return None

    async def get(self) -> Roster:
        """The roster as read at most `max_age` ago; an error reading it is raised, and nothing is kept."""
        if (roster := self._fresh()) is not None:
            return roster
        async with self._lock:  # turns arriving together wait for one read instead of each making one
            if (roster := self._fresh()) is not None:
                return roster
            generation, started = self._generation, self._clock()  # aged from before the read: never younger
            roster = await self._load()
            if generation == self._generation:
                self._roster, self._read_at = roster, started
            return roster

    def forget(self) -> None:
        """This process changed the lawyers: the next question reads them again."""
        self._generation += 1
        self._roster = None
