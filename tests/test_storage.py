"""The record (SQLite and PostgreSQL) and the short-lived state stores (memory and real Redis)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, update

from bot.channels.claims import BUSY_SECONDS, handle_once
from bot.core.messages import IncomingMessage
from bot.core.ports import TurnRecord
from bot.errors import InFlight
from bot.settings import DatabaseSettings
from bot.storage.commits import Commits
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.handoff_tables import CaseRow
from bot.storage.repository import SqlConversationStore
from bot.storage.retention import Retention
from bot.storage.state import MemoryStateStore, RedisStateStore
from bot.storage.tables import ContactRow, ConversationRow, MessageRow
from tests.keys import TEST_KEYRING

NOW = dt.datetime.now(dt.UTC)

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlConversationStore]:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    await migrate(engine)  # applying twice is harmless
    yield SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=24))
    await engine.dispose()


async def test_contact_is_created_once_and_remembers_its_language(store: SqlConversationStore) -> None:
    first = await store.get_or_create_contact("telegram", "42")
    again = await store.get_or_create_contact("telegram", "42")
    other_channel = await store.get_or_create_contact("whatsapp", "42")
    assert first.id == again.id != other_channel.id
    await store.set_language(first.id, "kk", chosen=True)
    remembered = await store.get_or_create_contact("telegram", "42")
    assert (remembered.language, remembered.language_chosen) == ("kk", True)


async def test_language_columns_hold_codes_longer_than_two_letters(store: SqlConversationStore) -> None:
    """Dari is "prs": after migration 0005 PostgreSQL stores it (a String(2) column refused it)."""
    contact = await store.get_or_create_contact("telegram", "dari-speaker")
    async with store._sessions() as session, session.begin():
        await session.execute(update(ContactRow).where(ContactRow.id == contact.id).values(language="prs"))
        session.add(
            CaseRow(contact_id=contact.id, language="uz-Latn", urgent=False, reason="a", summary="", status="waiting")
        )
    async with store._sessions() as session:
        assert await session.scalar(select(ContactRow.language).where(ContactRow.id == contact.id)) == "prs"
        assert await session.scalar(select(CaseRow.language).where(CaseRow.contact_id == contact.id)) == "uz-Latn"


async def test_long_silence_starts_a_new_conversation(database_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    eager = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(seconds=0))
    contact = await eager.get_or_create_contact("test", "silent")
    await eager.record_inbound(contact.id, IncomingMessage("test", "silent"), "one", lease_until=NOW)
    await eager.record_inbound(contact.id, IncomingMessage("test", "silent"), "two", lease_until=NOW)
    async with session_factory(engine)() as session:
        count = await session.scalar(select(func.count()).select_from(ConversationRow))
    await engine.dispose()
    assert count == 2


async def test_delete_contact_removes_messages_and_conversations(store: SqlConversationStore) -> None:
    gone = await store.get_or_create_contact("test", "gone")
    kept = await store.get_or_create_contact("test", "kept")
    for contact in (gone, kept):
        message = await store.record_inbound(contact.id, IncomingMessage("test", "x"), "text", lease_until=NOW)
        assert message is not None
        await store.record_turn(message, contact.id, TurnRecord("greet", 0.9, "en", ["reply"], "{}"))
    await store.delete_contact(gone.id)
    assert await store.find_contact("test", "gone") is None
    async with store._sessions() as session:
        owners = set((await session.execute(select(MessageRow.contact_id))).scalars())
    assert owners == {kept.id}


async def test_a_deleted_persons_old_message_delivered_again_stores_and_touches_nothing(
    store: SqlConversationStore,
) -> None:
    """The tombstone is found whether the person is gone, or wrote again since (a new contact, found and marked
    seen in the same statement that finds the tombstone: that mark is rolled back too)."""
    lease = NOW + dt.timedelta(seconds=90)
    old = IncomingMessage("telegram", "77", "hello", channel_message_id="m1")
    first = await store.accept(old, "hello", lease_until=lease)
    assert first.contact is not None and first.message_id is not None
    await store.set_language(first.contact.id, "kk", chosen=True)
    await store.delete_contact(first.contact.id)
    assert (await store.accept(old, "hello", lease_until=lease)).forgotten == "kk"  # nobody there
    new = IncomingMessage("telegram", "77", "hi", channel_message_id="m2")
    again = await store.accept(new, "hi", lease_until=lease)
    assert again.contact is not None and again.message_id is not None
    async with store._sessions() as session:
        seen_before = await session.scalar(select(ContactRow.last_seen_at).where(ContactRow.id == again.contact.id))
    redelivered = await store.accept(old, "hello", lease_until=lease)
    assert (redelivered.contact, redelivered.message_id, redelivered.forgotten) == (None, None, "kk")
    async with store._sessions() as session:
        messages = (await session.execute(select(MessageRow.channel_message_id))).scalars().all()
        seen_after = await session.scalar(select(ContactRow.last_seen_at).where(ContactRow.id == again.contact.id))
    assert messages == ["m2"]
    assert seen_after == seen_before


async def test_retention_purge_deletes_old_messages_only(store: SqlConversationStore) -> None:
    contact = await store.get_or_create_contact("test", "old")
    await store.record_inbound(contact.id, IncomingMessage("test", "old"), "recent", lease_until=NOW)
    assert await store.purge_older_than(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)) == 0
    assert await store.purge_older_than(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 1


async def test_a_running_service_purges_at_start_and_keeps_purging(store: SqlConversationStore) -> None:
    contact = await store.get_or_create_contact("test", "long-running")
    await store.record_inbound(contact.id, IncomingMessage("test", "long"), "kept for now", lease_until=NOW)
    now = [dt.datetime.now(dt.UTC)]
    retention = Retention(dt.timedelta(days=180), lambda: now[0])
    swept = asyncio.Event()

    async def purge(cutoff: dt.datetime) -> int:
        deleted = await store.purge_older_than(cutoff)
        swept.set()
        return deleted

    retention.register("messages deleted", purge)
    retention.start()  # the first sweep runs at once
    await asyncio.wait_for(swept.wait(), timeout=10)
    assert await store.purge_older_than(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)) == 0, "nothing old yet"
    now[0] += dt.timedelta(days=181)  # half a year later, the same process
    await retention.run_once()  # what the hourly sweep does
    await retention.stop()
    assert await store.purge_older_than(dt.datetime.now(dt.UTC) + dt.timedelta(days=365)) == 0, "already deleted"


@pytest.fixture(params=["memory", "redis"])
async def state_store(request: pytest.FixtureRequest) -> AsyncIterator[MemoryStateStore | RedisStateStore]:
    if request.param == "memory":
        yield MemoryStateStore()
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    redis = Redis.from_url(url)
    yield RedisStateStore(redis, TEST_KEYRING, prefix=f"pana-test-{uuid.uuid4().hex}:")
    await redis.aclose()


async def test_state_store_round_trip_and_delete(state_store: MemoryStateStore | RedisStateStore) -> None:
    assert await state_store.get("k") is None
    await state_store.set("k", {"pending": "delete", "failures": 1}, ttl_seconds=60)
    assert await state_store.get("k") == {"pending": "delete", "failures": 1}
    await state_store.delete("k")
    assert await state_store.get("k") is None


async def test_state_expires(state_store: MemoryStateStore | RedisStateStore) -> None:
    await state_store.set("short", {"a": 1}, ttl_seconds=1)
    import asyncio

    await asyncio.sleep(1.2)
    assert await state_store.get("short") is None


async def test_a_delivery_is_handled_once_and_again_after_a_failure(
    state_store: MemoryStateStore | RedisStateStore,
) -> None:
    handled: list[str] = []

    async def work() -> str:
        handled.append("x")
        return "answered"

    async def failing() -> str:
        raise RuntimeError("send failed")

    with pytest.raises(RuntimeError):
        await handle_once(state_store, "update:1", failing)
    assert await handle_once(state_store, "update:1", work) == "answered", "a failure gives the claim back"
    assert await handle_once(state_store, "update:1", work) is None, "a redelivery after success is skipped"
    assert handled == ["x"]


async def test_a_duplicate_while_the_first_is_handled_gets_a_retryable_refusal(
    state_store: MemoryStateStore | RedisStateStore,
) -> None:
    entered, finish = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        entered.set()
        await finish.wait()
        return "answered"

    first = asyncio.create_task(handle_once(state_store, "update:2", slow))
    await asyncio.wait_for(entered.wait(), 5)
    with pytest.raises(InFlight):  # a webhook answers 503: the platform delivers it again later
        await handle_once(state_store, "update:2", slow)
    finish.set()
    assert await asyncio.wait_for(first, 5) == "answered"
    assert await handle_once(state_store, "update:2", slow) is None, "once handled, a duplicate is skipped"


async def test_a_claim_left_by_a_killed_process_ends_soon(state_store: MemoryStateStore | RedisStateStore) -> None:
    assert await state_store.claim("update:3", BUSY_SECONDS)  # claimed, then the process was killed
    assert await state_store.claim_state("update:3") == "busy"
    assert BUSY_SECONDS <= 60, "a redelivery is blocked for at most a minute, not 15"
    if isinstance(state_store, RedisStateStore):
        ttl = await state_store._redis.ttl(state_store._claim_key("update:3"))
        assert 0 < ttl <= BUSY_SECONDS
