"""Which commits wait for the disk (bot/storage/commits.py), read inside each writing transaction as it commits.

On PostgreSQL `SHOW synchronous_commit`, on SQLite `PRAGMA synchronous` (2 FULL, 1 NORMAL), asked on the very
connection and transaction the store's own method used, just before its COMMIT.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.app import create_app
from bot.clock import utc_now
from bot.core.language import LanguageDetector
from bot.core.messages import IncomingMessage
from bot.core.ports import TurnRecord
from bot.nlu.server import NluServer
from bot.records.whatsapp import Outgoing
from bot.settings import DatabaseSettings, RasaSettings
from bot.storage.commits import Commits
from bot.storage.database import create_engine, migrate
from bot.storage.repository import SqlConversationStore
from bot.storage.tables import MessageRow
from bot.storage.whatsapp import SqlWhatsAppLedger
from tests.conftest import make_settings
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.asyncio
USER = "+77011234567"
WRITES = ("insert", "update", "delete")


class CommitLog:
    """For each commit of a transaction that wrote: "durable" or "relaxed", as the database saw it then.

    Listens on every engine given: the durable one and the relaxed pool's (`Commits.relaxed_engine`).
    """

    def __init__(self, *engines: AsyncEngine) -> None:
        self.seen: list[str] = []
        for engine in dict.fromkeys(engines):  # the same engine once, when relaxed commits are off
            self._listen(engine)

    def _listen(self, engine: AsyncEngine) -> None:
        sync_engine = engine.sync_engine

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _wrote(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().lower().startswith(WRITES):
                connection.info["wrote"] = True

        @event.listens_for(sync_engine, "after_cursor_execute")
        def _autocommitted(connection: Any, *_args: Any) -> None:
            if _autocommit(connection) and connection.info.pop("wrote", False):
                self._ask(connection)  # the statement committed itself

        @event.listens_for(sync_engine, "commit")
        def _committing(connection: Any) -> None:
            if connection.info.pop("wrote", False):
                self._ask(connection)  # the same connection, still in the transaction

    def _ask(self, connection: Any) -> None:
        cursor = connection.connection.dbapi_connection.cursor()
        if connection.dialect.name == "postgresql":
            cursor.execute("SHOW synchronous_commit")
            self.seen.append("relaxed" if cursor.fetchone()[0] == "off" else "durable")
        else:
            cursor.execute("PRAGMA synchronous")
            self.seen.append("relaxed" if cursor.fetchone()[0] < 2 else "durable")
        cursor.close()

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def _autocommit(connection: Any) -> bool:
    return connection.dialect.name == "postgresql" and bool(connection.connection.dbapi_connection.autocommit)


def _message(number: int) -> IncomingMessage:
    return IncomingMessage(channel="whatsapp", user_id=USER, text="hello", channel_message_id=f"SM{number}")


def _record() -> TurnRecord:
    return TurnRecord(intent="greet", confidence=0.9, language="ru", replies=["Hi"], turn="{}", contact_language="ru")


async def _a_whatsapp_turn(commits: Commits, log: CommitLog) -> dict[str, list[str]]:
    """Every write of a WhatsApp turn through the stores' own methods, and what each commit was."""
    store = SqlConversationStore(commits, idle=dt.timedelta(hours=24))
    ledger = SqlWhatsAppLedger(commits)
    lease = utc_now() + dt.timedelta(seconds=90)
    seen: dict[str, list[str]] = {}
    accepted = await store.accept(_message(1), "hello", lease_until=lease)
    assert accepted.contact is not None and accepted.message_id is not None
    seen["accept"] = log.take()
    assert await store.record_turn(accepted.message_id, accepted.contact.id, _record())
    seen["record_turn"] = log.take()
    await store.mark_sent(accepted.message_id, 1, lease)
    seen["mark_sent"] = log.take()
    await ledger.answer(USER, [Outgoing("ru", body="Hi")], reply_to=accepted.message_id, wrote_at=utc_now())
    seen["answer"] = log.take()
    delivery = await ledger.claim_next(USER)
    assert delivery is not None
    seen["claim_next"] = log.take()
    await ledger.submitted(delivery.id, "SM-out-1", "queued")
    seen["submitted"] = log.take()
    await ledger.answer(USER, [Outgoing("ru", body="Done")], reply_to=None, wrote_at=None)  # the goodbye
    seen["answer without a stored message"] = log.take()
    await store.mark_answered(accepted.message_id)
    seen["mark_answered"] = log.take()
    seen["accept again"] = (await store.accept(_message(2), "hello", lease_until=lease), log.take())[1]
    return seen


async def test_only_the_commits_a_stored_message_can_redo_skip_the_disk(engine: AsyncEngine) -> None:
    commits = Commits(engine, relaxed=True)
    log = CommitLog(engine, commits.relaxed_engine)
    assert await _a_whatsapp_turn(commits, log) == {
        "accept": ["durable"],
        "record_turn": ["relaxed"],
        "mark_sent": ["relaxed"],
        "answer": ["relaxed"],
        "claim_next": ["relaxed"],
        "submitted": ["durable"],
        "answer without a stored message": ["durable"],
        "mark_answered": ["relaxed"],
        "accept again": ["durable"],
    }


async def test_with_relaxed_commits_off_every_commit_waits_for_the_disk(engine: AsyncEngine) -> None:
    commits = Commits(engine, relaxed=False)
    assert commits.relaxed_engine is engine  # no second pool
    log = CommitLog(engine)
    seen = await _a_whatsapp_turn(commits, log)
    assert set(seen) >= {"record_turn", "mark_answered", "answer", "claim_next"}
    assert all(kinds == ["durable"] for kinds in seen.values()), seen


async def test_a_relaxed_transaction_that_fails_writes_nothing_and_durable_connections_stay_durable(
    engine: AsyncEngine,
) -> None:
    commits = Commits(engine, relaxed=True, pool_size=1, pool_overflow=0)  # one relaxed connection, used again
    store = SqlConversationStore(commits, idle=dt.timedelta(hours=24))
    accepted = await store.accept(_message(1), "hello", lease_until=utc_now())
    assert accepted.message_id is not None
    with pytest.raises(RuntimeError):
        async with commits.relaxed() as connection:
            decided = text("UPDATE messages SET intent = 'x' WHERE id = :id")
            await connection.execute(decided, {"id": accepted.message_id})
            raise RuntimeError("the turn failed")
    await store.mark_answered(accepted.message_id)  # the relaxed connection again: no transaction left open on it
    async with engine.connect() as connection:
        assert (await connection.execute(select(MessageRow.intent, MessageRow.answered_at))).one()[0] is None
        assert await _setting(connection) == "durable"
    async with commits.relaxed() as connection:
        assert await _setting(connection) == "relaxed"


async def _setting(connection: AsyncConnection) -> str:
    """What a commit on this connection would be, as the database says."""
    if connection.dialect.name == "sqlite":
        return "durable" if (await connection.exec_driver_sql("PRAGMA synchronous")).scalar() == 2 else "relaxed"
    return "durable" if (await connection.exec_driver_sql("SHOW synchronous_commit")).scalar() == "on" else "relaxed"


async def test_a_relaxed_write_is_one_statement_and_a_relaxed_turn_sets_nothing_per_transaction(
    engine: AsyncEngine,
) -> None:
    """The relaxed pool's connections are relaxed from birth: no SET LOCAL, no PRAGMA around a transaction."""
    commits = Commits(engine, relaxed=True)
    store = SqlConversationStore(commits, idle=dt.timedelta(hours=24))
    accepted = await store.accept(_message(1), "hello", lease_until=utc_now())
    assert accepted.contact is not None and accepted.message_id is not None
    async with commits.relaxed() as connection:  # the pool's connection opened (its settings made) here
        await connection.exec_driver_sql("SELECT 1")
    statements: list[str] = []
    event.listen(commits.relaxed_engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert await store.record_turn(accepted.message_id, accepted.contact.id, _record())
    await store.mark_answered(accepted.message_id)
    assert [statement.split()[0].upper() for statement in statements] == ["UPDATE", "INSERT", "UPDATE", "UPDATE"]


async def test_where_sqlite_refuses_wal_relaxed_commits_are_durable_and_say_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database in memory answers `memory` to `journal_mode=WAL`, as a filesystem without WAL answers `delete`."""
    url = "sqlite+aiosqlite:///file:pana-without-wal?mode=memory&cache=shared&uri=true"  # shared by both pools
    engine = create_engine(DatabaseSettings(url=url), TEST_KEYRING)
    try:
        await migrate(engine)
        commits = Commits(engine, relaxed=True)
        assert commits.relaxed_engine is not engine
        log = CommitLog(engine, commits.relaxed_engine)
        with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
            seen = await _a_whatsapp_turn(commits, log)
            async with commits.relaxed() as connection:
                assert await _setting(connection) == "durable"
        assert all(kinds == ["durable"] for kinds in seen.values()), seen
        warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
        assert warnings == ["SQLite refused the WAL journal (memory): relaxed commits are durable ones"]
    finally:
        await engine.dispose()


async def test_sqlite_in_a_private_memory_database_has_no_relaxed_pool(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(DatabaseSettings(url="sqlite+aiosqlite://"), TEST_KEYRING)
    with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
        commits = Commits(engine, relaxed=True)
    assert commits.relaxed_engine is engine
    assert [record.getMessage() for record in caplog.records] == [
        "SQLite in memory has no WAL journal: relaxed commits are durable ones"
    ]
    await engine.dispose()


async def test_the_relaxed_pool_closes_with_the_durable_engine(engine: AsyncEngine) -> None:
    commits = Commits(engine, relaxed=True)
    async with commits.relaxed() as connection:
        await connection.exec_driver_sql("SELECT 1")
    pool = commits.relaxed_engine.sync_engine.pool
    assert pool.checkedin() == 1
    await engine.dispose()
    assert commits.relaxed_engine.sync_engine.pool is not pool  # disposed and replaced, as the durable one's
    assert commits.relaxed_engine.sync_engine.pool.checkedin() == 0


async def test_relaxed_commits_are_on_by_default_and_the_setting_turns_them_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_RELAXED_COMMITS", raising=False)
    assert DatabaseSettings().relaxed_commits is True
    monkeypatch.setenv("DATABASE_RELAXED_COMMITS", "false")
    assert DatabaseSettings().relaxed_commits is False


@pytest.mark.parametrize("relaxed", [True, False])
async def test_the_app_commits_a_turn_as_the_setting_says(
    relaxed: bool, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, detector: LanguageDetector
) -> None:
    settings = make_settings(database_url, rasa_settings)
    database = settings.database.model_copy(update={"relaxed_commits": relaxed})
    app = await create_app(settings.model_copy(update={"database": database}), detector=detector)
    log = CommitLog(app.engine, app.commits.relaxed_engine)
    try:
        hello = IncomingMessage(channel="test", user_id="u1", text="hello", channel_message_id="1")
        await app.conversation.handle(hello)
    finally:
        await app.close()
    # storing the message, then the decision
    assert log.seen == ["durable", "relaxed" if relaxed else "durable"]
