"""Engine creation and migrations (applied automatically at start)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.keys import Keyring
from bot.private_files import private_dir, private_file
from bot.settings import DatabaseSettings
from bot.storage.commits import SQLITE_DURABLE
from bot.storage.sealing import attach_keyring

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 5
# A pooled PostgreSQL connection idle longer than this is pinged before use (one that was in use a moment ago is
# not: a ping is three round trips, BEGIN, `;`, ROLLBACK, and a turn takes ~11 sessions one after another).
PING_AFTER_IDLE_SECONDS = 5.0
# SQLite has one writer at a time: another writer waits this long for the lock (the driver's busy timeout,
# 5 s by default) before "database is locked". Twice the driver's wait, for a sweep's batch next to a turn, and
# still under Twilio's 15 s webhook timeout, so a waiting WhatsApp request is answered, not abandoned and retried.
SQLITE_BUSY_SECONDS = 10


def is_database_outage(error: BaseException) -> bool:
    """The database cannot be reached (refused, reset, timed out, pool exhausted), as opposed to a bug.

    asyncpg's own connection errors come wrapped by SQLAlchemy or bare; the causes are followed too.
    """
    seen: BaseException | None = error
    for _ in range(5):  # a short cause chain; bounded in case of a cycle
        if seen is None:
            return False
        if _sqlite_locked(seen):
            return False
        if isinstance(seen, OperationalError | InterfaceError | SqlTimeoutError | OSError | TimeoutError):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if type(seen).__module__.startswith("asyncpg") and "Connection" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _sqlite_locked(error: BaseException) -> bool:
    """SQLite's "database is locked" (or "busy"): still there after SQLITE_BUSY_SECONDS, yet not an outage.

    The file is reachable and the message may be stored already; the lock is held by a writer of this or
    another process. The static reply ("not saved", nothing stored) would be untrue and, with the sweep answering
    the stored message too, a second answer. So the turn fails like any error: the platform redelivers it, or
    the recovery sweep answers the stored message once the lock is free.
    """
    original = getattr(error, "orig", error)
    if not type(original).__module__.startswith("sqlite3"):  # aiosqlite raises sqlite3's own errors
        return False
    text = str(original).lower()
    return "database is locked" in text or "database is busy" in text


def create_engine(settings: DatabaseSettings, keyring: Keyring) -> AsyncEngine:
    """Create the engine; a SQLite file is created readable by Pana's user only, and foreign keys are enforced.

    The engine carries `keyring`: encrypted columns (bot/storage/sealing.py) seal and open with its keys.

    Bound values never appear in errors (`hide_parameters`): they are what people wrote and their numbers.
    """
    url = make_url(settings.url.get_secret_value())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        _private_sqlite_file(Path(url.database))
    postgres = url.get_backend_name() == "postgresql"
    engine = create_async_engine(
        url,
        echo=settings.echo,
        hide_parameters=True,
        pool_pre_ping=False,  # PostgreSQL: pinged when idle a while (_ping_idle_connections)
        # A server that does not answer fails the turn in seconds (the static reply), not after asyncpg's 60 s.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS if postgres else SQLITE_BUSY_SECONDS},
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        **({"pool_size": settings.pool_size, "max_overflow": settings.pool_overflow} if postgres else {}),
    )
    attach_keyring(engine, keyring)
    if postgres:
        _ping_idle_connections(engine)
    if url.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # Every commit syncs the WAL (the default, said here because relaxed commits set it back to this):
            # see bot/storage/commits.py.
            cursor.execute(SQLITE_DURABLE)
            cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
            cursor.close()

    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection that sat idle, so one the server dropped meanwhile is replaced, not used.

    A connection that died while in use, or in the seconds since, fails its statement: SQLAlchemy then discards
    it and every connection pooled before it, and the turn gets the outage reply (bot/core/outage.py).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or returned a moment ago
        try:
            dbapi_connection.ping()
        except Exception as error:  # the pool replaces the connection and tries again
            raise DisconnectionError(f"idle connection failed its ping ({type(error).__name__})") from error


def _private_sqlite_file(database: Path) -> None:
    """SQLite gives its -wal and -shm files the database file's mode: 0600 for all three."""
    if not database.parent.exists():
        private_dir(database.parent)
    private_file(database)
    for companion in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        if companion.exists():
            companion.chmod(0o600)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # migration-only (~11 MB): workers of `pana serve --workers` never load it

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision."""

    from alembic import command

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table by dropping it; with foreign keys on, SQLite would cascade
            # that drop into every child row. Only effective outside a transaction: so before the upgrade.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await connection.run_sync(upgrade)
            await connection.commit()
        finally:
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def reading_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine for a read of one statement, which is atomic by itself: on PostgreSQL in autocommit, so it
    costs one round trip, not three (asyncpg's BEGIN, the SELECT, the ROLLBACK when the connection is returned).
    A turn makes such reads on every message (the person's open case, lawyers at work). SQLite's driver begins
    no transaction for a SELECT: its engine stays as it is. Shares the engine's pool, statement cache and keyring."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")
