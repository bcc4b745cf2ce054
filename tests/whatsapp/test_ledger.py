"""The WhatsApp ledger on SQLite and PostgreSQL: the window, the outbox claims, idempotent statuses."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utc_now
from bot.records.whatsapp import Outgoing
from bot.storage.commits import Commits
from bot.storage.database import session_factory
from bot.storage.repository import SqlConversationStore
from bot.storage.schema import metadata
from bot.storage.tables import WhatsAppDeliveryRow
from bot.storage.whatsapp import SqlWhatsAppLedger

pytestmark = pytest.mark.asyncio
USER = "+77011234567"


@pytest.fixture
def ledger(engine: AsyncEngine) -> SqlWhatsAppLedger:
    return SqlWhatsAppLedger(Commits(engine, relaxed=True))


@pytest.fixture
def store(engine: AsyncEngine) -> SqlConversationStore:
    return SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=24))


async def test_migration_creates_the_tables_as_declared(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if "whatsapp" in repr(d)]

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_window_opens_with_each_message_and_never_moves_back(
    ledger: SqlWhatsAppLedger, store: SqlConversationStore
) -> None:
    assert (await ledger.window(USER)).last_inbound_at is None
    await store.get_or_create_contact("whatsapp", USER)
    now = utc_now()
    await ledger.note_inbound(USER, now)
    await ledger.note_inbound(USER, now - dt.timedelta(minutes=5))  # a late redelivery
    window = await ledger.window(USER)
    assert window.last_inbound_at is not None and abs(window.last_inbound_at - now) < dt.timedelta(seconds=1)
    await ledger.note_invited(USER, now)
    assert (await ledger.window(USER)).invited_at is not None
    assert (await ledger.window("+70000000000")).last_inbound_at is None


async def test_each_ready_delivery_is_claimed_once(ledger: SqlWhatsAppLedger) -> None:
    ids = await ledger.add(USER, [Outgoing("ru", body=f"part {i}") for i in range(3)])
    claims = await asyncio.gather(*(ledger.claim_next(USER) for _ in range(5)))
    claimed = sorted(c.id for c in claims if c is not None)
    assert claimed == ids, "every delivery went to exactly one sender"


async def test_held_deliveries_wait_until_released_in_order(ledger: SqlWhatsAppLedger) -> None:
    held = await ledger.add(USER, [Outgoing("ru", body="first"), Outgoing("ru", body="second")], held=True)
    assert await ledger.claim_next(USER) is None
    assert await ledger.held_count(USER) == 2
    assert await ledger.release_held(USER) == 2
    first, second = await ledger.claim_next(USER), await ledger.claim_next(USER)
    assert [first.id if first else 0, second.id if second else 0] == held


async def test_callback_before_create_returned_is_kept(ledger: SqlWhatsAppLedger) -> None:
    [delivery_id] = await ledger.add(USER, [Outgoing("en", body="hi")])
    assert await ledger.claim_next(USER) is not None
    sid = "SM" + "1" * 32
    change = await ledger.record_status(delivery_id, sid, "sent", None)
    assert change is not None and change.changed
    await ledger.submitted(delivery_id, sid, "queued")  # create() returns after Twilio already called back
    change = await ledger.record_status(None, sid, "sent", None)
    assert change is not None and not change.changed and change.delivery.status == "sent"


async def test_unknown_status_or_message_is_ignored(ledger: SqlWhatsAppLedger) -> None:
    [delivery_id] = await ledger.add(USER, [Outgoing("en", body="hi")])
    assert await ledger.record_status(delivery_id, "SM" + "2" * 32, "receiving", None) is None
    assert await ledger.record_status(None, "SM" + "3" * 32, "sent", None) is None


async def test_forgetting_a_contact_removes_its_window_and_deliveries(
    ledger: SqlWhatsAppLedger, store: SqlConversationStore
) -> None:
    contact = await store.get_or_create_contact("whatsapp", USER)
    await ledger.note_inbound(USER, utc_now())
    await ledger.add(USER, [Outgoing("ru", body="held text")], held=True)
    await store.delete_contact(contact.id)
    assert (await ledger.window(USER)).last_inbound_at is None
    assert await ledger.held_count(USER) == 0


async def test_interrupted_submissions_are_resumed_and_old_deliveries_purged(
    ledger: SqlWhatsAppLedger, engine: AsyncEngine
) -> None:
    [stale, fresh] = await ledger.add(USER, [Outgoing("en", body="a"), Outgoing("en", body="b")])
    await ledger.claim_next(USER)
    await ledger.claim_next(USER)
    async with session_factory(engine)() as session:
        old = utc_now() - dt.timedelta(hours=1)
        await session.execute(update(WhatsAppDeliveryRow).where(WhatsAppDeliveryRow.id == stale).values(updated_at=old))
        await session.commit()
    assert await ledger.recipients_to_resume(utc_now() - dt.timedelta(minutes=2)) == [USER]
    resumed = await ledger.claim_next(USER)
    assert resumed is not None and resumed.id == stale
    assert await ledger.purge_older_than(utc_now() + dt.timedelta(seconds=1)) == 2
    assert fresh > stale


async def test_a_submission_is_recorded_by_one_statement(
    ledger: SqlWhatsAppLedger, store: SqlConversationStore, engine: AsyncEngine
) -> None:
    """Twilio's id, the status it answered with, a resend's old code cleared: one UPDATE (it took three)."""
    await store.get_or_create_contact("whatsapp", USER)
    [delivery_id] = await ledger.add(USER, [Outgoing("en", body="hi")])
    async with session_factory(engine)() as session:  # a resend carries the refusal's code until Twilio takes it
        await session.execute(update(WhatsAppDeliveryRow).values(error_code=63016))
        await session.commit()
    assert await ledger.claim_next(USER) is not None
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    await ledger.submitted(delivery_id, "SM" + "4" * 32, "queued")
    assert [s.split()[0].upper() for s in statements] == ["UPDATE"]
    async with session_factory(engine)() as session:
        row = await session.get(WhatsAppDeliveryRow, delivery_id)
    assert row is not None
    assert (row.message_sid, row.status, row.error_code, row.body) == ("SM" + "4" * 32, "queued", None, "hi")


async def test_a_submitted_goodbye_keeps_no_number_nor_text(ledger: SqlWhatsAppLedger, engine: AsyncEngine) -> None:
    [delivery_id] = await ledger.add(USER, [Outgoing("en", body="Done")])  # no contact: they deleted their data
    assert await ledger.claim_next(USER) is not None
    await ledger.submitted(delivery_id, "SM" + "5" * 32, "failed")
    async with session_factory(engine)() as session:
        row = await session.get(WhatsAppDeliveryRow, delivery_id)
    assert row is not None
    assert (row.status, row.body, row.recipient, row.recipient_hash) == ("failed", None, None, None)
