"""Retention keeps the promise of /privacy on SQLite and PostgreSQL: nothing personal outlives its period."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_retention
from bot.settings import DatabaseSettings, PanaSettings, RasaSettings
from bot.storage.commits import Commits
from bot.storage.database import alembic_config, create_engine, migrate, session_factory
from bot.storage.handoff_tables import AuditRow, CaseNoteRow, CaseRow, LawyerMessageRow, LawyerRow, RelayRow
from bot.storage.repository import SqlConversationStore
from bot.storage.tables import (
    ContactRow,
    ConversationRow,
    MessageRow,
    WhatsAppDeliveryRow,
    WhatsAppWindowRow,
)
from tests.conftest import make_settings
from tests.keys import TEST_KEYRING

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAYS = 30
AUDIT_DAYS = 90
OLD = NOW - dt.timedelta(days=DAYS + 1)
RECENT = NOW - dt.timedelta(days=DAYS - 1)


@dataclass
class Record:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def add(self, *rows: object) -> None:
        async with self.sessions() as session:
            for row in rows:
                session.add(row)
                await session.flush()
            await session.commit()

    async def count(self, table: type, *where: object) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


@pytest.fixture
async def record(database_url: str) -> AsyncIterator[Record]:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    yield Record(database_url, engine, session_factory(engine))
    await engine.dispose()


def _contact(platform_id: str, last_seen: dt.datetime, channel: str = "whatsapp") -> ContactRow:
    return ContactRow(
        channel=channel,
        platform_id=platform_id,
        platform_hash=TEST_KEYRING.blind(platform_id),
        created_at=last_seen,
        last_seen_at=last_seen,
    )


async def _person(record: Record, platform_id: str, last_seen: dt.datetime) -> ContactRow:
    """A contact with one conversation, an inbound message, a WhatsApp window and a delivery, all at `last_seen`."""
    contact = _contact(platform_id, last_seen)
    await record.add(contact)
    conversation = ConversationRow(contact_id=contact.id, started_at=last_seen, last_message_at=last_seen)
    await record.add(conversation)
    await record.add(
        MessageRow(
            conversation_id=conversation.id,
            contact_id=contact.id,
            direction="in",
            text=f"words of {platform_id}",
            created_at=last_seen,
        ),
        WhatsAppWindowRow(contact_id=contact.id, last_inbound_at=last_seen),
        WhatsAppDeliveryRow(
            contact_id=contact.id,
            recipient=f"whatsapp:{platform_id}",
            language="ru",
            body="reply",
            status="delivered",
            created_at=last_seen,
            updated_at=last_seen,
        ),
    )
    return contact


async def _case(record: Record, contact: ContactRow, lawyer: LawyerRow, *, closed_at: dt.datetime | None) -> CaseRow:
    case = CaseRow(
        contact_id=contact.id,
        language="ru",
        topic="trafficking",
        urgent=True,
        reason="c",
        summary="what the person said",
        status="closed" if closed_at else "assigned",
        lawyer_id=lawyer.id,
        created_at=(closed_at or NOW) - dt.timedelta(days=2),
        closed_at=closed_at,
        outcome="referred to the shelter" if closed_at else None,
        rating=5 if closed_at else None,
    )
    await record.add(case)
    await record.add(
        RelayRow(case_id=case.id, direction="to_user", kind="answer", text="lawyer's words", status="sent"),
        CaseNoteRow(case_id=case.id, lawyer_id=lawyer.id, text="internal note"),
        LawyerMessageRow(case_id=case.id, chat_id=lawyer.telegram_id, message_id=f"m{case.id}"),
    )
    return case


async def _sweep(record: Record) -> None:
    settings = make_settings(record.url, RasaSettings()).model_copy(
        update={"pana": PanaSettings(message_retention_days=DAYS, audit_retention_days=AUDIT_DAYS)}
    )
    store = SqlConversationStore(Commits(record.engine, relaxed=True), idle=dt.timedelta(hours=24))
    await create_retention(settings, record.engine, store, lambda: NOW).run_once()


async def test_silent_contacts_go_with_everything_on_them_unless_a_case_is_open(record: Record) -> None:
    lawyer = LawyerRow(telegram_id=5001, name="L", languages="ru")
    await record.add(lawyer)
    silent = await _person(record, "+77010000001", OLD)
    active = await _person(record, "+77010000002", RECENT)
    waiting = await _person(record, "+77010000003", OLD)
    await _case(record, waiting, lawyer, closed_at=None)  # a lawyer still works on it: the person stays
    recently_closed = await _person(record, "+77010000004", OLD)
    closed_case = await _case(record, recently_closed, lawyer, closed_at=RECENT)

    await _sweep(record)

    async with record.sessions() as session:
        left = set((await session.execute(select(ContactRow.platform_id))).scalars())
    assert left == {active.platform_id, waiting.platform_id}
    for gone in (silent, recently_closed):
        for table in (MessageRow, ConversationRow, WhatsAppWindowRow, WhatsAppDeliveryRow):
            assert await record.count(table, table.contact_id == gone.id) == 0, table.__tablename__
    # The person is gone, so their case (closed only days ago) lost every link to them already.
    async with record.sessions() as session:
        case = await session.get(CaseRow, closed_case.id)
        assert case is not None
        assert (case.contact_id, case.topic, case.summary, case.outcome) == (None, None, "", None)
        assert (case.urgent, case.rating, case.status) == (True, 5, "closed"), "anonymous counts stay"
    for table in (RelayRow, CaseNoteRow, LawyerMessageRow):
        assert await record.count(table, table.case_id == closed_case.id) == 0


async def test_old_closed_cases_are_detached_and_recent_ones_kept_whole(record: Record) -> None:
    lawyer = LawyerRow(telegram_id=5002, name="L", languages="ru")
    await record.add(lawyer)
    person = await _person(record, "+77010000005", RECENT)  # still active
    old = await _case(record, person, lawyer, closed_at=OLD)
    recent = await _case(record, person, lawyer, closed_at=RECENT)

    await _sweep(record)

    async with record.sessions() as session:
        detached = await session.get(CaseRow, old.id)
        whole = await session.get(CaseRow, recent.id)
    assert detached is not None and whole is not None
    assert (detached.contact_id, detached.topic, detached.summary, detached.outcome) == (None, None, "", None)
    assert (whole.contact_id, whole.topic, whole.outcome) == (person.id, "trafficking", "referred to the shelter")
    assert await record.count(RelayRow, RelayRow.case_id == old.id) == 0
    assert await record.count(RelayRow, RelayRow.case_id == recent.id) == 1
    assert await record.count(CaseRow) == 2, "detached, not deleted: the counts stay"


async def test_messages_and_conversations_past_the_period_go_audit_keeps_its_own_period(record: Record) -> None:
    person = await _person(record, "+77010000006", RECENT)
    conversation = ConversationRow(contact_id=person.id, started_at=OLD, last_message_at=OLD)
    await record.add(conversation)
    await record.add(
        MessageRow(conversation_id=conversation.id, contact_id=person.id, direction="in", text="old", created_at=OLD)
    )
    await record.add(
        AuditRow(at=NOW - dt.timedelta(days=AUDIT_DAYS + 1), actor="lawyer", action="closed", case_id=1),
        AuditRow(at=OLD, actor="lawyer", action="taken", case_id=1),  # past the message period, not the audit's
    )

    await _sweep(record)

    assert await record.count(ConversationRow, ConversationRow.id == conversation.id) == 0
    assert await record.count(MessageRow, MessageRow.contact_id == person.id) == 1, "the recent one stays"
    async with record.sessions() as session:
        actions = list((await session.execute(select(AuditRow.action))).scalars())
    assert actions == ["taken"]


async def test_audit_log_has_no_column_for_a_channel_id(record: Record) -> None:
    async with record.engine.connect() as connection:
        columns = await connection.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns("audit_log")})
    # subject_staff_id: the console account an admin acted on (a staff id, never a person's)
    assert columns == {"id", "at", "actor", "lawyer_id", "action", "case_id", "staff_id", "subject_staff_id"}


async def test_migration_0005_keeps_handoff_rows_and_lets_cases_be_detached(database_url: str) -> None:
    """From revision 0004 with data in place: the SQLite table rebuild must not cascade into relays or notes."""
    from alembic import command

    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0004"))
    sessions = session_factory(engine)
    async with sessions() as session:
        await session.execute(
            text(
                "INSERT INTO contacts (id, channel, platform_id, language_chosen, created_at, last_seen_at) "
                "VALUES (1, 'telegram', '42', false, :at, :at)"
            ),
            {"at": NOW},
        )
        await session.execute(
            text(
                "INSERT INTO lawyers (id, telegram_id, name, languages, active, created_at) "
                "VALUES (1, 7, 'L', 'ru', true, :at)"
            ),
            {"at": NOW},
        )
        await session.execute(
            text(
                "INSERT INTO cases (id, contact_id, language, urgent, reason, summary, status, created_at) "
                "VALUES (1, 1, 'ru', false, 'c', 's', 'closed', :at)"
            ),
            {"at": NOW},
        )
        await session.execute(
            text(
                "INSERT INTO relays (case_id, direction, kind, text, status, attempts, next_attempt_at, created_at) "
                "VALUES (1, 'to_user', 'answer', 't', 'sent', 0, :at, :at)"
            ),
            {"at": NOW},
        )
        await session.execute(
            text("INSERT INTO case_notes (case_id, lawyer_id, text, created_at) VALUES (1, 1, 'n', :at)"),
            {"at": NOW},
        )
        await session.commit()

    await migrate(engine)

    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RelayRow)) == 1
        assert await session.scalar(select(func.count()).select_from(CaseNoteRow)) == 1
        await session.execute(text("UPDATE cases SET contact_id = NULL WHERE id = 1"))
        await session.commit()
        # The one-open-case-per-person index survived the rebuild.
        await session.execute(
            text(
                "INSERT INTO cases (id, contact_id, language, urgent, reason, summary, status, created_at) "
                "VALUES (2, 1, 'ru', false, 'c', 's', 'waiting', :at)"
            ),
            {"at": NOW},
        )
        await session.commit()
        with pytest.raises(IntegrityError, match=r"(?i)unique"):
            await session.execute(
                text(
                    "INSERT INTO cases (id, contact_id, language, urgent, reason, summary, status, created_at) "
                    "VALUES (3, 1, 'ru', false, 'c', 's', 'waiting', :at)"
                ),
                {"at": NOW},
            )
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1, "back on after migrating"
    await engine.dispose()
