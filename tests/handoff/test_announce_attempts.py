"""A case's announcement attempts are counted begun (with the lease) and ended (with the outcome), as a relay's
delivery attempts are: one begun and never ended was cut off by a kill, and only it explains a second announcement
(tests/faults/chain.py). On the real stores, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from alembic import command
from sqlalchemy import event, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.handoff.announce import NEVER
from bot.records.cases import NewCase, Reason
from bot.settings import DatabaseSettings
from bot.storage.cases import SqlCaseStore
from bot.storage.commits import Commits
from bot.storage.database import alembic_config, create_engine, migrate, session_factory
from bot.storage.handoff_tables import CaseRow
from bot.storage.lawyers import SqlLawyerStore
from bot.storage.repository import SqlConversationStore
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.asyncio

LEASE = dt.timedelta(minutes=15)
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@dataclass
class Queue:
    engine: AsyncEngine
    cases: SqlCaseStore
    case_id: int

    async def attempts(self) -> tuple[int, int]:
        """(begun, ended) for the case."""
        query = select(CaseRow.announce_attempts, CaseRow.announce_attempts_ended).where(CaseRow.id == self.case_id)
        async with session_factory(self.engine)() as session:
            begun, ended = (await session.execute(query)).one()
        return int(begun), int(ended)


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[Queue]:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=1))
    contact = await store.get_or_create_contact("telegram", "9300")
    cases = SqlCaseStore(session_factory(engine))
    case = await cases.open(NewCase(contact.id, "ru", None, False, Reason.ASKED, ""), T0)
    assert case is not None
    yield Queue(engine, cases, case.id)
    await engine.dispose()


async def test_an_announcement_sent_and_marked_ends_its_attempt(queue: Queue) -> None:
    assert await queue.attempts() == (0, 0), "a new case has announced nothing"
    assert await queue.cases.claim_announcement(queue.case_id, NEVER, T0, T0 + LEASE)
    assert await queue.attempts() == (1, 0), "begun with the lease"
    assert await queue.cases.confirm_announcement(queue.case_id, T0)
    assert await queue.attempts() == (1, 1)


async def test_an_announcement_no_lawyer_received_ends_its_attempt_too(queue: Queue) -> None:
    assert await queue.cases.claim_announcement(queue.case_id, NEVER, T0, T0 + LEASE)
    assert await queue.cases.unclaim_announcement(queue.case_id, T0)
    assert await queue.cases.claim_announcement(queue.case_id, NEVER, T0, T0 + LEASE), "announced again at once"
    assert await queue.cases.confirm_announcement(queue.case_id, T0)
    assert await queue.attempts() == (2, 2), "two attempts, both ended: nothing was cut off"


async def test_an_attempt_cut_off_shows_in_the_record_and_the_next_claim_says_so(
    queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage.cases")
    assert await queue.cases.claim_announcement(queue.case_id, NEVER, T0, T0 + LEASE)
    # its process dies here, after the send or before it: nothing marks the attempt's end
    assert not await queue.cases.claim_announcement(queue.case_id, NEVER, T0 + LEASE / 2, T0 + LEASE * 2)
    assert not caplog.records, "a lease still held is no sign of a cut-off attempt"
    later = T0 + LEASE + dt.timedelta(seconds=1)
    assert await queue.cases.claim_announcement(queue.case_id, NEVER, later, later + LEASE), "taken over"
    assert [r.getMessage() for r in caplog.records] == [
        f"Case {queue.case_id}: an earlier announcement was cut off before its outcome was written (its process "
        "stopped); announcing it again, lawyers may get it twice"
    ]
    assert await queue.cases.confirm_announcement(queue.case_id, later)
    assert await queue.attempts() == (2, 1), "the record keeps the attempt cut off"


async def test_an_announcement_that_ends_after_the_case_was_taken_still_ends_its_attempt(queue: Queue) -> None:
    lawyer = await SqlLawyerStore(session_factory(queue.engine)).add(555, "Aigerim", ("ru",))
    assert await queue.cases.claim_announcement(queue.case_id, NEVER, T0, T0 + LEASE)
    assert await queue.cases.claim(queue.case_id, lawyer.id, T0), "a lawyer took it from the queue meanwhile"
    assert not await queue.cases.confirm_announcement(queue.case_id, T0), "not marked announced: it is not waiting"
    assert await queue.attempts() == (1, 1), "but the attempt ended: no lawyer gets it again"
    case = await queue.cases.get(queue.case_id)
    assert case is not None and case.announced_at is None


async def test_the_attempt_rides_in_the_leases_and_the_outcomes_statements(queue: Queue) -> None:
    """No round trip more on the way to an announcement: one UPDATE takes the lease and counts the attempt, one
    UPDATE (and its audit row) marks the case announced and ends it."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(queue.engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await queue.cases.claim_announcement(queue.case_id, NEVER, T0, T0 + LEASE)
        claimed = list(statements)
        statements.clear()
        assert await queue.cases.confirm_announcement(queue.case_id, T0)
    finally:
        event.remove(queue.engine.sync_engine, "before_cursor_execute", seen)
    assert [s for s in claimed if s != "BEGIN"] == ["UPDATE"]
    assert [s for s in statements if s != "BEGIN"] == ["UPDATE", "INSERT"]


async def test_migration_0016_counts_nothing_for_cases_in_place_and_goes_back(database_url: str) -> None:
    """Cases in place count no attempt (none shows as cut off); the downgrade drops the counts, keeping the case."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)

    async def to(revision: str, *, down: bool = False) -> None:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":  # as in migrate(): a table rebuild must not cascade
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            step = command.downgrade if down else command.upgrade
            await connection.run_sync(lambda sync: step(alembic_config(sync), revision))
            await connection.commit()

    async def columns() -> set[str]:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda sync: inspect(sync).get_columns("cases"))
        return {column["name"] for column in found}

    await to("0015")
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=1))
    contact = await store.get_or_create_contact("telegram", "9300")  # contacts are as 0015 left them
    async with engine.begin() as connection:  # a case being announced as the new revision comes
        await connection.execute(
            text(
                "INSERT INTO cases (id, contact_id, language, urgent, reason, summary, status, created_at, "
                "announcing_until) VALUES (1, :contact, 'ru', false, 'a', '', 'waiting', :at, :until)"
            ),
            {"contact": contact.id, "at": T0, "until": T0 + LEASE},
        )
    await to("0016")
    query = text("SELECT announce_attempts, announce_attempts_ended FROM cases WHERE id = 1")
    async with engine.connect() as connection:
        assert (await connection.execute(query)).one() == (0, 0)
    await to("0015", down=True)
    assert {"announce_attempts", "announce_attempts_ended"}.isdisjoint(await columns())
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT status FROM cases WHERE id = 1"))).scalar() == "waiting"
    await to("head")
    assert {"announce_attempts", "announce_attempts_ended"} <= await columns()
    await engine.dispose()
