"""The lawyers' roster kept in the process: an ordinary person costs no query, a removed lawyer is refused at
once by every process, and one added by another process is recognised within the bound (real databases)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import DatabaseSettings
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.lawyer_roster import ROSTER_MAX_AGE_SECONDS, Roster, RosterCache
from bot.storage.lawyers import SqlLawyerStore
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.asyncio
LAWYER, PERSON = 4242, 777


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Processes:
    worker: SqlLawyerStore  # a serving process's store, on its own engine
    admin: SqlLawyerStore  # `pana lawyers ...` or another worker: another engine, another roster
    engine: AsyncEngine  # the worker's
    clock: Clock  # the worker's roster ages by it


@pytest.fixture
async def processes(database_url: str) -> AsyncIterator[Processes]:
    engines = [create_engine(DatabaseSettings(url=database_url), TEST_KEYRING) for _ in range(2)]
    await migrate(engines[0])
    clock = Clock()
    yield Processes(
        SqlLawyerStore(session_factory(engines[0]), roster_clock=clock),
        SqlLawyerStore(session_factory(engines[1])),
        engines[0],
        clock,
    )
    for engine in engines:
        await engine.dispose()


def statements_on(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


async def test_an_ordinary_persons_update_asks_no_query_once_the_roster_is_read(processes: Processes) -> None:
    await processes.admin.add(LAWYER, "Aigerim", ("en",))
    seen = statements_on(processes.engine)
    assert await processes.worker.active_by_telegram_id(PERSON) is None
    assert len(seen) == 1, "the roster, read once"
    for _ in range(3):
        assert await processes.worker.active_by_telegram_id(PERSON) is None
        assert await processes.worker.any_active()
    assert len(seen) == 1, "nothing more for people who are not lawyers, nor for 'is any lawyer active'"
    lawyer = await processes.worker.active_by_telegram_id(LAWYER)
    assert lawyer is not None and lawyer.name == "Aigerim", "a lawyer's record comes from the database"
    assert len(seen) == 2


async def test_a_lawyer_removed_by_another_process_is_refused_at_once(processes: Processes) -> None:
    await processes.admin.add(LAWYER, "Aigerim", ("en",))
    assert await processes.worker.active_by_telegram_id(LAWYER) is not None
    await processes.admin.deactivate(LAWYER)
    assert await processes.worker.active_by_telegram_id(LAWYER) is None, "within the roster's age: still refused"
    assert await processes.worker.any_active(), "the availability sentence may say so for a few seconds more"
    processes.clock.now += ROSTER_MAX_AGE_SECONDS
    assert not await processes.worker.any_active()


async def test_a_lawyer_added_by_another_process_is_recognised_within_the_bound(processes: Processes) -> None:
    assert await processes.worker.active_by_telegram_id(LAWYER) is None
    assert not await processes.worker.any_active()
    await processes.admin.add(LAWYER, "Aigerim", ("en",))
    processes.clock.now += ROSTER_MAX_AGE_SECONDS - 0.5
    assert await processes.worker.active_by_telegram_id(LAWYER) is None, "the roster is not that old yet"
    processes.clock.now += 0.5
    assert await processes.worker.active_by_telegram_id(LAWYER) is not None
    assert await processes.worker.any_active()


async def test_a_lawyer_added_or_removed_through_this_process_counts_at_once(processes: Processes) -> None:
    assert await processes.worker.active_by_telegram_id(LAWYER) is None
    await processes.worker.add(LAWYER, "Aigerim", ("en",))
    assert await processes.worker.active_by_telegram_id(LAWYER) is not None
    await processes.worker.deactivate(LAWYER)
    assert not await processes.worker.any_active()


# --- the cache alone ---------------------------------------------------------------------------------
@pytest.mark.fast
async def test_turns_arriving_together_wait_for_one_read() -> None:
    reads = 0
    gate = asyncio.Event()

    async def load() -> Roster:
        nonlocal reads
        reads += 1
        await gate.wait()
        return Roster(frozenset({LAWYER}), True)

    cache = RosterCache(load, clock=Clock())
    waiting = [asyncio.create_task(cache.get()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert {roster.telegram_ids for roster in await asyncio.gather(*waiting)} == {frozenset({LAWYER})}
    assert reads == 1


@pytest.mark.fast
async def test_a_read_begun_before_a_change_here_is_not_kept() -> None:
    rosters = iter([Roster(frozenset(), False), Roster(frozenset({LAWYER}), True)])
    gate = asyncio.Event()

    async def load() -> Roster:
        await gate.wait()
        return next(rosters)

    cache = RosterCache(load, clock=Clock())
    before = asyncio.create_task(cache.get())
    await asyncio.sleep(0)
    cache.forget()  # this process added a lawyer while the read was on its way
    gate.set()
    assert not (await before).any_active, "the caller that asked before the change gets what was read"
    assert (await cache.get()).any_active, "the next caller reads again"


@pytest.mark.fast
async def test_a_failed_read_is_raised_and_the_next_caller_reads_again() -> None:
    failures = iter([ConnectionRefusedError("database down"), None])

    async def load() -> Roster:
        if (error := next(failures)) is not None:
            raise error
        return Roster(frozenset(), True)

    cache = RosterCache(load, clock=Clock())
    with pytest.raises(ConnectionRefusedError):
        await cache.get()
    assert (await cache.get()).any_active
