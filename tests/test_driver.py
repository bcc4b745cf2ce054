"""The driver path of a turn's statements (bot/storage/driver.py) keeps SQLAlchemy's meaning on both databases:
sealed columns as the ORM writes and reads them, a unique violation as IntegrityError, a dead connection as an
outage (and out of the pool), every statement seen by SQLAlchemy's events."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.messages import IncomingMessage
from bot.storage import turn_statements
from bot.storage.commits import Commits
from bot.storage.database import is_database_outage, session_factory
from bot.storage.driver import hold
from bot.storage.repository import SqlConversationStore
from bot.storage.tables import MessageRow
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.asyncio


def _store(engine: AsyncEngine) -> SqlConversationStore:
    return SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=24))


def _message(sid: str, text_: str = "Мен босқынмын, көмек керек") -> IncomingMessage:
    return IncomingMessage("whatsapp", "+77005550199", text_, channel_message_id=sid, payload="topic:asylum")


async def test_a_message_written_on_the_driver_is_sealed_and_reads_back_through_the_orm(engine: AsyncEngine) -> None:
    store = _store(engine)
    message = _message("SM1")
    accepted = await store.accept(message, message.text, lease_until=dt.datetime.now(dt.UTC))
    assert accepted.message_id is not None
    async with session_factory(engine)() as session:
        row = await session.get(MessageRow, accepted.message_id)
        assert row is not None and (row.text, row.payload) == (message.text, "topic:asylum"), "opened by the ORM"
    async with engine.connect() as connection:
        stored = (await connection.execute(text("SELECT text, payload FROM messages"))).one()
    assert message.text not in stored.text and "asylum" not in stored.payload, "only ciphertext in the database"
    assert TEST_KEYRING.open(stored.text) == message.text


async def test_a_message_written_by_the_orm_reads_back_on_the_driver(engine: AsyncEngine) -> None:
    store = _store(engine)
    contact = await store.get_or_create_contact("whatsapp", "+77005550198")
    message = _message("SM2", "Қамауға алды")
    message_id = await store.record_inbound(contact.id, message, message.text, lease_until=dt.datetime.now(dt.UTC))
    query = select(MessageRow.text, MessageRow.payload, MessageRow.created_at).where(MessageRow.id == message_id)
    async with hold(engine, transaction=True) as held:
        ((opened, payload, created_at),) = await held.rows(query, {})
    assert (opened, payload) == ("Қамауға алды", "topic:asylum"), "opened by the same Sealed type"
    assert created_at.tzinfo is not None or engine.dialect.name == "sqlite", "PostgreSQL's timestamps are aware"


async def test_a_unique_violation_on_the_driver_is_an_integrity_error_and_rolls_back(engine: AsyncEngine) -> None:
    store = _store(engine)
    message = _message("SM3")
    accepted = await store.accept(message, message.text, lease_until=dt.datetime.now(dt.UTC))
    assert accepted.contact is not None and accepted.message_id is not None
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(IntegrityError) as failed:
        async with hold(engine, transaction=True) as held:
            await turn_statements.add_contact(held, "whatsapp", "+77005550197", "a" * 64, now)
            hashes = TEST_KEYRING.blinds(message.user_id)
            await turn_statements.add_contact(held, "whatsapp", message.user_id, hashes[0], now)  # the same person
    assert not is_database_outage(failed.value), "a constraint is a bug or a race, not an outage"
    assert await store.find_contact("whatsapp", "+77005550197") is None, "the transaction was rolled back"
    again = await store.accept(message, message.text, lease_until=now)  # a redelivery: the same outcome as before
    assert again.contact == accepted.contact and again.message_id is None


async def test_a_connection_dead_under_the_driver_is_an_outage_and_leaves_the_pool(engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError) as failed:
        async with hold(engine, transaction=True) as held:
            await held._driver.close()  # the server or the file went away under the held connection
            await turn_statements.mark_answered(held, 1, dt.datetime.now(dt.UTC))
    assert is_database_outage(failed.value), "the turn gets the outage reply, as through SQLAlchemy"
    store = _store(engine)
    message = _message("SM4")
    accepted = await store.accept(message, message.text, lease_until=dt.datetime.now(dt.UTC))
    assert accepted.message_id is not None, "the pool gave a working connection, not the dead one"


async def test_every_driver_statement_fires_sqlalchemys_statement_events(engine: AsyncEngine) -> None:
    seen: list[str] = []

    def statement(_connection: object, _cursor: object, sql: str, *_: object) -> None:
        seen.append(sql.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    store = SqlConversationStore(Commits(engine, relaxed=False), idle=dt.timedelta(hours=24))
    message = _message("SM5")
    accepted = await store.accept(message, message.text, lease_until=dt.datetime.now(dt.UTC))
    assert accepted.message_id is not None
    await store.mark_answered(accepted.message_id)
    # a new person: the touch finds no one, the tombstones, the person, the conversation, the message; the mark
    assert seen == ["UPDATE", "SELECT", "INSERT", "INSERT", "INSERT", "UPDATE"]
