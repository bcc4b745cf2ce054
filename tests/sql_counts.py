"""What a turn asks of SQLAlchemy, counted: statements, sessions, commits, ORM loads, expressions built.

Counted through SQLAlchemy's own events on the app's engine (statements, connection checkouts, commits), the
ORM's `load` event (rows made into mapped objects) and calls of `sqlalchemy.sql.coercions.expect`, which runs
for every piece of an expression built at call time (a statement built once at import costs none per turn).
Counts do not depend on the machine's load: a test can hold them to a ceiling where a timing could not.

A turn's hot statements run on the driver connection (bot/storage/driver.py), past SQLAlchemy's execution, yet
fire the same statement events, so `statements` counts them like any other; `driver` says how many of them
went that way (counted at the driver runner itself), and SQLAlchemy still begins and commits their transactions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import coercions

from bot.storage import driver
from bot.storage.tables import Base


class SqlCounts(Counter[str]):
    """statements (driver: those of them run on the driver), checkouts (a session's or connection's use of the
    pool), commits, orm_loads, expressions."""

    def line(self) -> str:
        keys = ("statements", "driver", "checkouts", "commits", "orm_loads", "expressions")
        return ", ".join(f"{key} {self[key]}" for key in keys)


@contextmanager
def counting(engines: AsyncEngine | Sequence[AsyncEngine], monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlCounts]:
    """Count what runs on `engines` (an app's: `app_engines`) and every expression built anywhere in the block."""
    counts = SqlCounts()
    original = coercions.expect

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    def commit(*_: Any) -> None:
        counts["commits"] += 1

    def load(*_: Any) -> None:
        counts["orm_loads"] += 1

    def expect(*args: Any, **kwargs: Any) -> Any:
        counts["expressions"] += 1
        return original(*args, **kwargs)

    run = driver.Held._run

    async def on_driver(held: driver.Held, *args: Any, **kwargs: Any) -> Any:
        counts["driver"] += 1
        return await run(held, *args, **kwargs)

    listeners: list[tuple[Any, str, Any]] = [(Base, "load", load)]
    for engine in dict.fromkeys([engines] if isinstance(engines, AsyncEngine) else engines):
        sync = engine.sync_engine
        listeners += [
            (sync, "before_cursor_execute", statement),
            (sync.pool, "checkout", checkout),
            (sync, "commit", commit),
        ]
    for target, name, function in listeners:
        event.listen(target, name, function, **({"propagate": True} if target is Base else {}))
    with monkeypatch.context() as patched:
        patched.setattr(coercions, "expect", expect)
        patched.setattr(driver.Held, "_run", on_driver)
        try:
            yield counts
        finally:
            for target, name, function in listeners:
                event.remove(target, name, function)


def app_engines(app: Any) -> tuple[AsyncEngine, ...]:
    """An app's durable engine and its relaxed commits' pool (the same engine when relaxed commits are off)."""
    return (app.engine, app.commits.relaxed_engine)
