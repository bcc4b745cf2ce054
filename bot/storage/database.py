"""Engine creation and migrations (applied automatically at start)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.keys import Keyring
from bot.private_files import private_dir, private_file
from bot.settings import DatabaseSettings
from bot.storage.sealing import attach_keyring, dialect_keyring

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 5
# A pooled PostgreSQL connection idle longer than this is pinged before use (one that was in use a moment ago is
# not: a ping is three round trips, BEGIN, `;`, ROLLBACK, and a turn takes ~11 sessions one after another).
PING_AFTER_IDLE_SECONDS = 5.0
# SQLite has one writer at a time: another writer waits this long for the lock (the driver's busy timeout,
# 5 s by default) before "database is locked". Twice the driver's wait, for a sweep's batch next to a turn, and
# still under Twilio's 15 s webhook timeout, so a waiting WhatsApp request is answered, not abandoned and retried.
SQLITE_BUSY_SECONDS = 10
# How a commit syncs SQLite's WAL: every commit (the durable engine's connections), or at checkpoints only (the
# relaxed engine's, bot/storage/commits.py). Safe in WAL mode only.
SQLITE_DURABLE = "PRAGMA synchronous=FULL"
SQLITE_RELAXED = "PRAGMA synchronous=NORMAL"


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
    if url.get_backend_name() == "sqlite" and not _in_memory(url):
        _private_sqlite_file(Path(str(url.database)))
    pool = {"pool_size": settings.pool_size, "max_overflow": settings.pool_overflow}
    engine = _engine(url, echo=settings.echo, pool=pool if url.get_backend_name() == "postgresql" else {})
    attach_keyring(engine, keyring)
    if url.get_backend_name() == "sqlite":
        # Every commit syncs the WAL (the default, said here because relaxed commits use another engine).
        _sqlite_pragmas(engine, SQLITE_DURABLE)
    return engine


def create_relaxed_engine(engine: AsyncEngine, *, pool_size: int, pool_overflow: int) -> AsyncEngine | None:
    """A second engine on `engine`'s database whose connections never wait for the disk when they commit.

    The setting is made once per connection, when it is opened (PostgreSQL: `synchronous_commit=off` in the
    startup message, no round trip; SQLite: `synchronous=NORMAL`), so a relaxed write costs no statement of its
    own. Its own small pool, so no durable commit ever runs on such a connection. Same URL, keyring and options.

    None where there is no second connection to the same database (SQLite in memory; its journal cannot be WAL
    either) or the dialect has no such setting: relaxed commits are then durable ones.
    """
    url = engine.url
    backend = url.get_backend_name()
    private_memory = backend == "sqlite" and url.database in (None, "", ":memory:")  # one per connection
    if backend not in ("postgresql", "sqlite") or private_memory:
        if private_memory:
            log.warning("SQLite in memory has no WAL journal: relaxed commits are durable ones")
        return None
    settings = {"server_settings": {"synchronous_commit": "off"}} if backend == "postgresql" else {}
    relaxed = _engine(
        url,
        echo=bool(engine.echo),
        pool={"pool_size": pool_size, "max_overflow": pool_overflow},
        connect_args=settings,
    )
    attach_keyring(relaxed, dialect_keyring(engine.sync_engine.dialect))
    if backend == "sqlite":
        _sqlite_pragmas(relaxed, SQLITE_RELAXED)
    return relaxed


def _in_memory(url: URL) -> bool:
    """No file: `:memory:`, or a URI filename (`?uri=true`) with `mode=memory` (shared between connections)."""
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _engine(url: URL, *, echo: bool, pool: dict[str, int], connect_args: Any = None) -> AsyncEngine:
    postgres = url.get_backend_name() == "postgresql"
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=False,  # PostgreSQL: pinged when idle a while (_ping_idle_connections)
        # A server that does not answer fails the turn in seconds (the static reply), not after asyncpg's 60 s.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS if postgres else SQLITE_BUSY_SECONDS, **(connect_args or {})},
        # SQLite in memory has a single connection (SQLAlchemy's StaticPool): nothing to size or wait for.
        **({} if _in_memory(url) else {"pool_timeout": CONNECT_TIMEOUT_SECONDS, **pool}),
    )
    if postgres:
        _ping_idle_connections(engine)
    return engine


def _sqlite_pragmas(engine: AsyncEngine, synchronous: str) -> None:
    """Foreign keys, the WAL journal, `synchronous` and secure deletes on every new SQLite connection.

    `synchronous=NORMAL` (relaxed) loses nothing on a crash only in WAL mode; where the journal cannot be WAL
    (some network filesystems; a database in memory) the connection stays FULL: relaxed commits become
    durable ones by themselves, said once in the log.
    """
    refused: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        journal = str(cursor.fetchone()[0]).lower()
        if journal != "wal" and synchronous != SQLITE_DURABLE:
            if not refused:
                log.warning("SQLite refused the WAL journal (%s): relaxed commits are durable ones", journal)
            refused.append(journal)
            synchronous_here = SQLITE_DURABLE
        else:
            synchronous_here = synchronous
        cursor.execute(synchronous_here)
        cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
        cursor.close()


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
