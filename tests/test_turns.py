"""Durable turns on the real database (SQLite and PostgreSQL): one decision per message, holds, relays once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.recovery import Recovery
from bot.core.messages import IncomingMessage
from bot.core.ports import TurnRecord
from bot.errors import InFlight
from bot.records.cases import Direction, NewCase, Reason, RelayKind
from bot.records.whatsapp import Outgoing
from bot.settings import DatabaseSettings
from bot.storage import turn_statements
from bot.storage.cases import SqlCaseStore
from bot.storage.commits import Commits
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.handoff_tables import RelayRow
from bot.storage.relays import SqlRelayStore
from bot.storage.repository import SqlConversationStore
from bot.storage.schema import metadata
from bot.storage.tables import MessageRow, WhatsAppDeliveryRow
from bot.storage.whatsapp import SqlWhatsAppLedger
from tests.keys import TEST_KEYRING

LEASE = dt.timedelta(seconds=90)


@dataclass
class Record:
    engine: AsyncEngine
    store: SqlConversationStore

    async def count(self, table: type[MessageRow] | type[RelayRow] | type[WhatsAppDeliveryRow], **where: object) -> int:
        query = select(func.count()).select_from(table).filter_by(**where)
        async with session_factory(self.engine)() as session:
            return int(await session.scalar(query) or 0)


@pytest.fixture
async def rec(database_url: str) -> AsyncIterator[Record]:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    yield Record(engine, SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=24)))
    await engine.dispose()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def stored(rec: Record, message: IncomingMessage, *, lease_until: dt.datetime | None = None) -> tuple[int, int]:
    contact = await rec.store.get_or_create_contact(message.channel, message.user_id)
    message_id = await rec.store.record_inbound(contact.id, message, message.text, lease_until=lease_until or now())
    assert message_id is not None
    return contact.id, message_id


DECISION = TurnRecord("asylum_apply", 0.9, "en", ["first reply", "second reply"], '{"replies": []}')


async def test_a_decision_is_stored_once_in_one_transaction(rec: Record) -> None:
    contact_id, message_id = await stored(rec, IncomingMessage("telegram", "1", "asylum?", channel_message_id="1"))
    assert await rec.store.record_turn(message_id, contact_id, DECISION)
    assert not await rec.store.record_turn(message_id, contact_id, DECISION), "a second decision is refused"
    assert await rec.count(MessageRow, direction="out") == 2, "outbound rows written once"
    redelivery = await rec.store.redelivery(contact_id, "1")
    assert redelivery is not None and redelivery.turn == DECISION.turn and not redelivery.answered
    await rec.store.mark_sent(message_id, 1, now() + LEASE)
    redelivery = await rec.store.redelivery(contact_id, "1")
    assert redelivery is not None and redelivery.parts_sent == 1


async def test_a_held_message_is_taken_by_one_process_at_a_time(rec: Record) -> None:
    _, message_id = await stored(
        rec, IncomingMessage("telegram", "2", "hi", channel_message_id="2"), lease_until=now() + LEASE
    )
    assert not await rec.store.take(message_id, now(), now() + LEASE), "held by the process that stored it"
    assert await rec.store.take(message_id, now() + LEASE + LEASE, now() + 3 * LEASE), "a crashed hold ends"
    await rec.store.release(message_id)
    assert await rec.store.take(message_id, now(), now() + LEASE), "released: taken at once"
    assert not await rec.store.take(message_id, now(), now() + LEASE), "and by one taker only"
    await rec.store.mark_answered(message_id)
    assert not await rec.store.take(message_id, now() + 9 * LEASE, now() + 10 * LEASE), "answered: never again"


async def test_unanswered_messages_come_back_as_they_were_received(rec: Record) -> None:
    picked = IncomingMessage(
        "telegram", "3", "Yes", payload="case:consent:x:asked", language_hint="ru", channel_message_id="a"
    )
    await stored(rec, picked)
    _, held = await stored(
        rec, IncomingMessage("telegram", "3", "held", channel_message_id="b"), lease_until=now() + LEASE
    )
    contact_id, answered = await stored(rec, IncomingMessage("telegram", "3", "done", channel_message_id="c"))
    await rec.store.mark_answered(answered)
    await stored(rec, IncomingMessage("whatsapp", "+7700", "other channel", channel_message_id="d"))
    await stored(rec, IncomingMessage("console", "local", "no platform id"))
    moment = now()
    due = await rec.store.unanswered(
        ["telegram"], stored_after=moment - dt.timedelta(hours=1), stored_before=moment, now=moment
    )
    assert [item.message for item in due] == [picked]
    later = await rec.store.unanswered(
        ["telegram"],
        stored_after=moment - dt.timedelta(hours=1),
        stored_before=moment - dt.timedelta(hours=1),
        now=moment,
    )
    assert later == [], "within the grace period nothing is due"
    assert held and contact_id


async def test_the_recovery_sweep_hands_each_due_message_to_its_channel_once(rec: Record) -> None:
    await stored(rec, IncomingMessage("telegram", "4", "lost in polling", channel_message_id="e"))
    await stored(rec, IncomingMessage("telegram", "5", "another process has it", channel_message_id="f"))
    replayed: list[str] = []

    async def replay(message: IncomingMessage) -> None:
        if message.text == "another process has it":
            raise InFlight("taken meanwhile")
        replayed.append(message.text)
        contact = await rec.store.get_or_create_contact(message.channel, message.user_id)
        found = await rec.store.redelivery(contact.id, message.channel_message_id or "")
        assert found is not None
        await rec.store.mark_answered(found.message_id)

    recovery = Recovery(rec.store, grace=dt.timedelta(0), max_age=dt.timedelta(hours=1), interval_seconds=60, clock=now)
    assert await recovery.run_once() == 0, "no channel registered: nothing to do"
    recovery.register("telegram", replay)
    assert await recovery.run_once() == 1
    assert await recovery.run_once() == 0, "answered now"
    assert replayed == ["lost in polling"]


async def test_a_message_decided_again_relays_to_the_lawyer_once(rec: Record) -> None:
    contact_id, message_id = await stored(
        rec, IncomingMessage("telegram", "6", "for my lawyer", channel_message_id="g")
    )
    case = await SqlCaseStore(session_factory(rec.engine)).open(
        NewCase(contact_id, "en", None, False, Reason.ASKED, ""), now()
    )
    assert case is not None
    relays = SqlRelayStore(session_factory(rec.engine))
    first = await relays.add(
        case.id, Direction.TO_LAWYER, RelayKind.MESSAGE, "for my lawyer", now(), source_message_id=message_id
    )
    again = await relays.add(
        case.id, Direction.TO_LAWYER, RelayKind.MESSAGE, "for my lawyer", now(), source_message_id=message_id
    )
    assert again.id == first.id
    await relays.add(case.id, Direction.TO_USER, RelayKind.MESSAGE, "lawyer's answer", now())
    await relays.add(case.id, Direction.TO_USER, RelayKind.MESSAGE, "lawyer's answer", now())
    assert await rec.count(RelayRow, source_message_id=message_id) == 1
    assert await rec.count(RelayRow) == 3, "relays without a source message are not deduplicated"


async def test_whatsapp_replies_are_queued_once_per_message(rec: Record) -> None:
    await stored(rec, IncomingMessage("whatsapp", "+77001112233", "hi", channel_message_id="SM1"))
    ledger = SqlWhatsAppLedger(Commits(rec.engine, relaxed=True))
    replies = [Outgoing("en", body="one"), Outgoing("en", body="two")]
    assert len(await ledger.add("+77001112233", replies, reply_to=41)) == 2
    assert await ledger.add("+77001112233", replies, reply_to=41) == [], "a replay after a crash queues nothing"
    assert await rec.count(WhatsAppDeliveryRow) == 2


async def test_the_migrations_create_the_turn_columns_as_declared(rec: Record) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with rec.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_a_turns_replies_are_written_together_in_order(rec: Record) -> None:
    """The decision names the inbound message's conversation (RETURNING): no lookup, no contact update, and
    the same statements however many replies it has; the replies join the question's conversation."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    async def recorded(replies: list[str], user: str) -> list[str]:
        contact_id, message_id = await stored(
            rec, IncomingMessage("telegram", user, "asylum?", channel_message_id=user)
        )
        statements.clear()
        engines = {rec.engine.sync_engine, rec.store._commits.relaxed_engine.sync_engine}  # durable and relaxed pools
        for engine in engines:
            event.listen(engine, "before_cursor_execute", seen)
        try:
            assert await rec.store.record_turn(
                message_id, contact_id, TurnRecord("asylum_apply", 0.9, "en", replies, "{}")
            )
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", seen)
        return list(statements)

    one = await recorded(["only reply"], "7")
    three = await recorded(["first", "second", "third"], "8")

    def others(statements: list[str]) -> list[str]:  # SQLite inserts row by row; PostgreSQL batches them
        # (the decision's connection is relaxed from birth: no statement sets it, bot/storage/commits.py)
        return [s for s in statements if not s.lstrip().upper().startswith("INSERT INTO MESSAGES")]

    assert len(others(three)) == len(others(one)), "only the inserts grow with the replies"
    assert not any("conversations" in s for s in three), "the conversation comes back from the message's UPDATE"
    assert not any(s.lstrip().upper().startswith("UPDATE CONTACTS") for s in three), "no language was learned"
    assert len(others(three)) == 1, "one UPDATE of the message besides the inserts"
    query = select(MessageRow.text, MessageRow.conversation_id, MessageRow.direction).order_by(MessageRow.id)
    async with session_factory(rec.engine)() as session:
        rows = (await session.execute(query)).all()
    assert [text for text, _, direction in rows if direction == "out"] == ["only reply", "first", "second", "third"]
    question, *replies = [conversation for _, conversation, _ in rows[2:]]  # the second person's question, replies
    assert set(replies) == {question}, "the turn's replies are in the question's conversation"


# --- a turn's transactions: all of each or nothing ----------------------------------------------------------
class Injected(RuntimeError):
    """A failure placed inside a transaction by the test."""


def message(text: str, sid: str, *, user: str = "+77005550101", channel: str = "whatsapp") -> IncomingMessage:
    return IncomingMessage(channel, user, text, channel_message_id=sid)


async def test_a_new_persons_first_message_is_stored_with_them_or_not_at_all(
    rec: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> None:
        raise Injected("the message's INSERT failed")

    first = message("hello", "SMa")
    with monkeypatch.context() as patched:
        patched.setattr(turn_statements, "add_message", fail)
        with pytest.raises(Injected):
            await rec.store.accept(first, first.text, lease_until=now())
    assert await rec.store.find_contact("whatsapp", first.user_id) is None, "the person was rolled back with it"
    assert await rec.count(MessageRow) == 0
    accepted = await rec.store.accept(first, first.text, lease_until=now())  # the platform delivers it again
    assert accepted.contact is not None and accepted.message_id is not None
    again = await rec.store.accept(first, first.text, lease_until=now())
    assert again.contact == accepted.contact and again.message_id is None, "a redelivery stores nothing"
    assert await rec.count(MessageRow) == 1


async def test_a_persons_first_two_messages_at_once_make_one_person(rec: Record) -> None:
    one, two = message("one", "SMb", user="+77005550102"), message("two", "SMc", user="+77005550102")
    accepted = await asyncio.gather(*(rec.store.accept(m, m.text, lease_until=now()) for m in (one, two)))
    assert len({a.contact.id for a in accepted if a.contact}) == 1, "one created the person, the other found them"
    assert all(a.contact is not None and a.message_id is not None for a in accepted)
    assert await rec.count(MessageRow, direction="in") == 2


async def test_a_failed_decision_leaves_nothing_and_the_redelivery_decides_once(
    rec: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound = message("сәлем", "SMd")
    accepted = await rec.store.accept(inbound, inbound.text, lease_until=now())
    assert accepted.contact is not None and accepted.message_id is not None
    contact_id, message_id = accepted.contact.id, accepted.message_id
    decision = TurnRecord("greet", 0.9, "kk", ["first", "second"], "{}", contact_language="kk")
    with monkeypatch.context() as patched:  # the transaction's last statement fails, after the others ran
        patched.setattr(turn_statements, "_LEARN_LANGUAGE", text("UPDATE contacts SET no_such_column = 1"))
        with pytest.raises(DBAPIError):
            await rec.store.record_turn(message_id, contact_id, decision)
    undecided = await rec.store.redelivery(contact_id, "SMd")
    assert undecided is not None and undecided.turn is None, "the decision was rolled back"
    assert await rec.count(MessageRow, direction="out") == 0, "so were its replies"
    contact = await rec.store.find_contact("whatsapp", inbound.user_id)
    assert contact is not None and contact.language is None, "and the language learned"
    assert await rec.store.record_turn(message_id, contact_id, decision)
    assert not await rec.store.record_turn(message_id, contact_id, decision), "decided once"
    assert await rec.count(MessageRow, direction="out") == 2
    contact = await rec.store.find_contact("whatsapp", inbound.user_id)
    assert contact is not None and (contact.language, contact.language_chosen) == ("kk", False)


async def test_a_learned_language_never_overrides_one_chosen_during_the_turn(rec: Record) -> None:
    inbound = message("hello", "SMe", user="+77005550103")
    accepted = await rec.store.accept(inbound, inbound.text, lease_until=now())
    assert accepted.contact is not None and accepted.message_id is not None
    await rec.store.set_language(accepted.contact.id, "ru", chosen=True)  # the person picked Russian in this turn
    learned = TurnRecord("change_language", 0.9, "ru", ["ok"], "{}", contact_language="en")
    assert await rec.store.record_turn(accepted.message_id, accepted.contact.id, learned)
    contact = await rec.store.find_contact("whatsapp", inbound.user_id)
    assert contact is not None and (contact.language, contact.language_chosen) == ("ru", True)


async def test_whatsapp_replies_and_the_answered_mark_are_one_transaction(
    rec: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = "+77005550104"
    inbound = message("hi", "SMf", user=user)
    accepted = await rec.store.accept(inbound, inbound.text, lease_until=now())
    assert accepted.contact is not None and accepted.message_id is not None
    message_id = accepted.message_id
    assert await rec.store.record_turn(message_id, accepted.contact.id, DECISION)
    ledger = SqlWhatsAppLedger(Commits(rec.engine, relaxed=True))
    replies = [Outgoing("en", body="one"), Outgoing("en", body="two")]

    async def fail(*_: object) -> None:
        raise Injected("marking the message answered failed")

    with monkeypatch.context() as patched:
        patched.setattr(turn_statements, "mark_answered", fail)
        with pytest.raises(Injected):
            await ledger.answer(user, replies, reply_to=message_id, wrote_at=now())
    assert await rec.count(WhatsAppDeliveryRow) == 0, "nothing queued"
    assert (await ledger.window(user)).last_inbound_at is None, "the window was rolled back too"
    pending = await rec.store.redelivery(accepted.contact.id, "SMf")
    assert pending is not None and not pending.answered and pending.turn == DECISION.turn, "the replay has the turn"
    assert await ledger.answer(user, replies, reply_to=message_id, wrote_at=now()) == 0
    assert await ledger.answer(user, replies, reply_to=message_id, wrote_at=now()) == 0, "a replay queues nothing"
    assert await rec.count(WhatsAppDeliveryRow) == 2
    answered = await rec.store.redelivery(accepted.contact.id, "SMf")
    assert answered is not None and answered.answered and answered.turn is None
    assert (await ledger.window(user)).last_inbound_at is not None
