"""PostgreSQL connections are pinged before use only after idling: a dropped idle one is replaced unnoticed."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import DatabaseSettings
from bot.storage import database
from bot.storage.database import create_engine, is_database_outage
from tests.faults.outages import TcpProxy
from tests.keys import TEST_KEYRING

pytestmark = pytest.mark.postgres


async def _select_one(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT 1"))).scalar_one())


async def _proxied_engine(database_url: str, proxy: TcpProxy) -> AsyncEngine:
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    if url.get_backend_name() != "postgresql":
        pytest.skip("pooled connections and pings are PostgreSQL's")
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    return create_engine(DatabaseSettings(url=proxied), TEST_KEYRING)


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = await _proxied_engine(database_url, proxy)
    try:
        assert await _select_one(engine) == 1
        await proxy.cut()  # the pooled connection is reset, as by a server restart
        await proxy.restore()
        assert await _select_one(engine) == 1, "the ping found it dead and the pool connected again"
    finally:
        await engine.dispose()
        await proxy.close()


async def test_a_connection_used_a_moment_ago_is_not_pinged(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a ping, a connection dropped in the last seconds fails once; the pool is then renewed."""
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = await _proxied_engine(database_url, proxy)
    try:
        assert await _select_one(engine) == 1
        await proxy.cut()
        await proxy.restore()
        with pytest.raises(Exception) as failed:  # asyncpg's error, wrapped by SQLAlchemy
            await _select_one(engine)
        assert is_database_outage(failed.value), "an outage (the static reply), not a bug"
        assert await _select_one(engine) == 1, "the dead connection was discarded with the pool"
    finally:
        await engine.dispose()
        await proxy.close()
