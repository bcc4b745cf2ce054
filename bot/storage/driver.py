"""A turn's hot statements on the database driver's own connection, past SQLAlchemy's execution machinery.

Through SQLAlchemy's AsyncConnection one UPDATE cost 1.2-1.4 ms of CPU on PostgreSQL (execution context, the
greenlet bridge, the asyncpg adapter's cursor emulation, the result) against ~0.2 ms on asyncpg itself
(docs/performance.md, stop 23). So a turn step holds one pooled connection (`hold`) and runs its statements on
the driver under it: asyncpg (its prepared-statement cache per connection) or aiosqlite.

The SQL stays defined once, in SQLAlchemy Core (bot/storage/turn_statements.py), and is compiled by the
engine's own dialect: the same text, the same parameter order, and every value bound and read by its column
type's own processors (`Sealed` seals with the engine's keyring, SQLite's datetimes and booleans), so a row
written here reads back through the ORM and the other way round. A plan is compiled once per dialect, the
columns an INSERT names and the lengths of its IN lists, then cached on the dialect.

Failures keep SQLAlchemy's meaning: a driver error is translated by the dialect into the same
`sqlalchemy.exc.DBAPIError` subclass an `execute` raises (IntegrityError for a unique violation, OperationalError
or an invalidated connection for an outage), and a connection found dead is invalidated, not pooled again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import greenlet_spawn

from bot.storage.database import is_database_outage

__all__ = ["Held", "hold"]

Row = tuple[Any, ...]
_PLANS = "pana_driver_plans"  # a dialect's cache of compiled plans (an attribute, like its keyring)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement as the driver runs it: its SQL and how each positional argument is made from the parameters."""

    sql: str
    sources: tuple[tuple[str, int | None], ...]  # (parameter, index in its IN list or None) per position
    constants: Mapping[str, Any]  # values fixed in the statement (`.values(parts_sent=0)`, LIMIT 1)
    binders: tuple[Any, ...]  # each position's bind processor, or None
    readers: tuple[Any, ...]  # each returned column's result processor, or None

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values: list[Any] = []
        for (name, index), binder in zip(self.sources, self.binders, strict=True):
            value = params[name] if name in params else self.constants[name]
            if index is not None:
                value = value[index]
            values.append(value if binder is None else binder(value))
        return values

    def rows(self, raw: Iterable[Sequence[Any]]) -> list[Row]:
        readers = self.readers
        return [tuple(v if r is None else r(v) for v, r in zip(row, readers, strict=True)) for row in raw]


def _plan(statement: Executable, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
    """The cached plan of `statement` for these parameters' names and IN-list lengths (compiled on a miss)."""
    expanding = tuple((k, len(v)) for k, v in params.items() if isinstance(v, list | tuple))
    key = (statement, tuple(params), expanding)
    plans: dict[Any, _Plan] = dialect.__dict__.setdefault(_PLANS, {})
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _compile(statement, dialect, params)
    return plan


def _compile(statement: Executable, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
    compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(params)))
    missing = [
        column.key for column in (*compiled.insert_prefetch, *compiled.update_prefetch) if column.key not in params
    ]
    if missing:  # a Python-side default SQLAlchemy would compute per execution: the caller passes it instead
        raise ValueError(f"the driver path needs explicit values for {missing}")
    constants = {name: bind.value for name, bind in compiled.binds.items() if name not in params}
    expanded = compiled.construct_expanded_state({**constants, **params})
    lists = {name for name, bind in compiled.binds.items() if bind.expanding}
    sources: list[tuple[str, int | None]] = []
    binders: list[Any] = []
    for position in expanded.positiontup or ():
        name, index = position, None
        if position not in compiled.binds:  # an IN-list element: `<name>_<1-based index>`
            name, _, number = position.rpartition("_")
            if name not in lists:
                raise ValueError(f"unexpected positional parameter {position}")
            index = int(number) - 1
        sources.append((name, index))
        binders.append(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
    returned = getattr(statement, "exported_columns", None) if _returns(statement) else None
    readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned or ())
    return _Plan(expanded.statement, tuple(sources), constants, tuple(binders), readers)


def _returns(statement: Executable) -> bool:
    return bool(getattr(statement, "_returning", ())) or getattr(statement, "is_select", False)


class Held:
    """One pooled connection held by a turn step: statements on its driver, in the step's transaction or alone.

    SQLAlchemy keeps the transaction (begin, commit, rollback, its "commit" event, the pool's reset), so it
    knows what state the connection is in; only the statements bypass it. Each still fires the engine's
    `before_cursor_execute` / `after_cursor_execute` events when something listens (the SQL counts of
    tests/sql_counts.py, a test's log of statements): nothing run here is hidden from them.
    """

    def __init__(self, connection: AsyncConnection, adapter: Any) -> None:
        self.dialect = connection.dialect
        sync = connection.sync_connection
        if sync is None:
            raise RuntimeError("the connection is not started")
        self._sync = sync
        self._adapter = adapter  # SQLAlchemy's DBAPI adapter of the driver's connection
        self._driver = adapter.driver_connection
        self._postgres = self.dialect.name == "postgresql"
        self._keep = True

    def discard(self) -> None:
        """Roll the transaction back at the end instead of committing it (nothing of it is wanted)."""
        self._keep = False

    async def rows(self, statement: Executable, params: Mapping[str, Any]) -> list[Row]:
        """The rows a SELECT or a statement with RETURNING gives, read by their column types."""
        plan = _plan(statement, self.dialect, params)
        return plan.rows(await self._run(plan, [plan.arguments(params)], returning=True))

    async def run(self, statement: Executable, params: Mapping[str, Any]) -> None:
        plan = _plan(statement, self.dialect, params)
        await self._run(plan, [plan.arguments(params)], returning=False)

    async def run_many(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for rows of the same columns (asyncpg pipelines them, SQLite steps them in one call)."""
        plan = _plan(statement, self.dialect, rows[0])
        await self._run(plan, [plan.arguments(row) for row in rows], returning=False)

    async def _run(self, plan: _Plan, arguments: list[list[Any]], *, returning: bool) -> Sequence[Sequence[Any]]:
        dispatch, many = self._sync.dispatch, len(arguments) > 1
        # Listeners run where SQLAlchemy runs them, in its greenlet (one may use the connection); none, no cost.
        if dispatch.before_cursor_execute:
            await greenlet_spawn(dispatch.before_cursor_execute, self._sync, None, plan.sql, arguments, None, many)
        try:
            if self._postgres:
                rows = await self._asyncpg(plan.sql, arguments, returning=returning)
            else:
                rows = await self._aiosqlite(plan.sql, arguments, returning=returning)
        except Exception as error:
            _raise(self._translated(error, plan.sql), error)
        if dispatch.after_cursor_execute:
            await greenlet_spawn(dispatch.after_cursor_execute, self._sync, None, plan.sql, arguments, None, many)
        return rows

    async def _asyncpg(self, sql: str, arguments: list[list[Any]], *, returning: bool) -> Sequence[Sequence[Any]]:
        """`fetch`/`execute` with arguments go through asyncpg's prepared-statement cache of the connection."""
        try:
            if returning:
                return cast(Sequence[Sequence[Any]], await self._driver.fetch(sql, *arguments[0]))
            if len(arguments) == 1:
                await self._driver.execute(sql, *arguments[0])
            else:
                await self._driver.executemany(sql, arguments)
            return ()
        except Exception as error:
            self._adapter._handle_exception(error)  # raises the adapter's DBAPI error for it, as SQLAlchemy's path
            raise

    async def _aiosqlite(self, sql: str, arguments: list[list[Any]], *, returning: bool) -> Sequence[Sequence[Any]]:
        """One thread hop per statement; Python's sqlite3 begins the transaction before a write, as under SQLAlchemy."""
        if len(arguments) > 1:
            await self._driver.executemany(sql, arguments)
            return ()
        rows = await self._driver.execute_fetchall(sql, arguments[0])
        return cast(Sequence[Sequence[Any]], rows) if returning else ()

    async def _begin_on_driver(self) -> None:
        """SQLAlchemy's asyncpg adapter begins its transaction at its first statement, and none runs through it
        here: so it begins now, as the adapter's own (its commit and rollback are then SQLAlchemy's as usual)."""
        if not self._postgres:
            return  # sqlite3 begins by itself before the first write
        try:
            await self._adapter._start_transaction()
        except Exception as error:
            _raise(self._translated(error, "BEGIN"), error)

    def _translated(self, error: Exception, sql: str) -> BaseException:
        """The error SQLAlchemy would have raised for this driver error: the same DBAPIError subclass."""
        dbapi = self.dialect.loaded_dbapi
        if not isinstance(error, dbapi.Error):
            return error
        invalidated = self.dialect.is_disconnect(error, self._adapter, None)
        return DBAPIError.instance(
            sql,
            None,
            error,
            dbapi.Error,
            hide_parameters=True,
            dialect=self.dialect,
            connection_invalidated=invalidated,
        )


def _raise(translated: BaseException, error: Exception) -> NoReturn:
    if translated is error:
        raise error
    raise translated from error


@asynccontextmanager
async def hold(engine: AsyncEngine, *, transaction: bool) -> AsyncIterator[Held]:
    """A connection of `engine`'s pool for one step's statements on the driver.

    `transaction`: all of them commit together at the end (or roll back on an error or `discard()`); without,
    each is atomic by itself: for PostgreSQL in autocommit (`engine` set so: one round trip for one statement).
    A connection whose statement failed as an outage is invalidated: the pool opens a new one.
    """
    async with engine.connect() as connection:
        adapter = (await connection.get_raw_connection()).dbapi_connection
        held = Held(connection, adapter)
        try:
            began = await connection.begin() if transaction else None
            if began is not None:
                await held._begin_on_driver()
            yield held
            if began is not None:
                await (began.commit() if held._keep else began.rollback())
        except BaseException as error:
            if is_database_outage(error):
                await connection.invalidate()
            raise  # SQLAlchemy rolls an open transaction back as the connection closes
