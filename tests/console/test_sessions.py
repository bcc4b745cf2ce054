"""Console sessions in the database or in Redis (REDIS_URL): the same guarantees from either store.

Signing out everywhere, a new password and disabling an account end every session at once, idle sessions
end, and the one-time-code step works; Redis keys are keyed hashes and expire with their sessions.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.console.security import token_hash
from bot.console.sessions import ConsoleSessions
from bot.records.staff import Role, SessionEntry
from bot.storage.staff_sessions import RedisSessionStore
from tests.console.conftest import ConsoleStack
from tests.keys import TEST_KEYRING


@pytest.fixture(params=["database", "redis"])
async def stack(request: pytest.FixtureRequest, console_stack: ConsoleStack) -> AsyncIterator[ConsoleStack]:
    """The console stack with its sessions in the database (as built) or moved to a real Redis."""
    if request.param == "database":
        yield console_stack
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    redis = Redis.from_url(url)
    prefix = f"pana:test:{uuid.uuid4().hex}:"  # this test's keys only, whatever else shares the database
    console = console_stack.desk
    console.sessions = ConsoleSessions(
        RedisSessionStore(redis, console_stack.app.keyring, prefix=prefix),
        console.staff,
        idle=console.idle,
        lifetime=console.lifetime,
    )
    console_stack.redis_prefix = prefix  # type: ignore[attr-defined]
    console_stack.redis = redis  # type: ignore[attr-defined]
    yield console_stack
    keys = [key async for key in redis.scan_iter(match=prefix + "*", count=100)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def _signed_in(stack: ConsoleStack, browser_page: str) -> bool:
    return "Sign out" in browser_page and 'name="password"' not in browser_page


async def test_signing_out_everywhere_and_a_new_password_end_every_session(stack: ConsoleStack) -> None:
    await stack.add_staff("aigerim", Role.LAWYER)
    phone, laptop = await stack.staff("aigerim"), await stack.staff("aigerim")
    assert await _signed_in(stack, await phone.get("/console/queue"))
    assert await _signed_in(stack, await laptop.get("/console/queue"))
    await phone.post("/console/logout-everywhere")
    assert 'name="password"' in await laptop.get("/console/queue"), "the other device is out at once"
    assert 'name="password"' in await phone.get("/console/queue")

    again = await stack.staff("aigerim")
    assert await _signed_in(stack, await again.get("/console/queue")), "a new sign-in after it works"
    await again.post("/console/logout")
    assert 'name="password"' in await again.get("/console/queue")

    kept = await stack.staff("aigerim")
    assert await stack.desk.staff.set_password("aigerim", "unused hash", stack.clock()) is not None
    assert 'name="password"' in await kept.get("/console/queue"), "a new password ends the sessions"


async def test_a_disabled_account_and_an_idle_session_are_out_at_once(stack: ConsoleStack) -> None:
    await stack.add_staff("aigerim", Role.LAWYER)
    await stack.add_staff("dana", Role.LAWYER)
    aigerim, dana = await stack.staff("aigerim"), await stack.staff("dana")
    await stack.desk.staff.disable("aigerim", stack.clock())
    assert 'name="password"' in await aigerim.get("/console/queue")
    async with aigerim.http.get(stack.base_url + "/console/events") as events:
        assert events.status == 401, "the live stream is refused too"
    assert await _signed_in(stack, await dana.get("/console/queue")), "only that account"
    stack.clock.advance(minutes=31)  # PANA_CONSOLE_IDLE_MINUTES=30
    assert 'name="password"' in await dana.get("/console/queue")


async def test_the_one_time_code_step_works_from_either_store(stack: ConsoleStack) -> None:
    await stack.add_staff("sara", Role.SUPERVISOR)
    sara = await stack.staff("sara")
    assert sara.status == 200 and await _signed_in(stack, sara.page)
    waiting = await stack.staff("sara", totp_code="")
    assert "/console/code" in waiting.url
    stack.clock.advance(minutes=6)
    await waiting.post("/console/code", code=stack.code("sara", steps_later=0))
    assert 'name="password"' in waiting.page, "a code comes within 5 minutes of the password or not at all"


async def test_redis_keys_are_keyed_hashes_that_expire(stack: ConsoleStack) -> None:
    redis: Redis | None = getattr(stack, "redis", None)
    if redis is None:
        pytest.skip("the database store keeps the token's hash in staff_sessions (see test_security)")
    await stack.add_staff("aigerim", Role.LAWYER)
    browser = await stack.staff("aigerim")
    token = browser.cookie("pana_console").value
    keys = [key.decode() async for key in redis.scan_iter(match=stack.redis_prefix + "*", count=100)]  # type: ignore[attr-defined]
    assert len(keys) == 1
    assert token not in keys[0] and token_hash(token) not in keys[0], "neither the token nor its plain hash"
    assert keys[0] == stack.redis_prefix + stack.app.keyring.blind(token_hash(token))  # type: ignore[attr-defined]
    ttl = await redis.ttl(keys[0])
    assert 0 < ttl <= dt.timedelta(hours=12).total_seconds(), "gone with the session's absolute end"
    assert token.encode() not in (await redis.get(keys[0]) or b"")


class ReadBeforeTheSignOut(RedisSessionStore):
    """A refresh that read the entry just before a sign-out dropped it (the interleaving, made certain)."""

    stale: SessionEntry | None = None

    async def get(self, token_hash: str) -> SessionEntry | None:
        return self.stale if self.stale is not None else await super().get(token_hash)


async def test_a_refresh_racing_a_sign_out_does_not_bring_the_session_back() -> None:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    redis = Redis.from_url(url)
    store = ReadBeforeTheSignOut(redis, TEST_KEYRING, prefix=f"pana:test:{uuid.uuid4().hex}:")
    now = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    entry = SessionEntry(7, 0, "csrf", now, now, awaiting_code=False)
    try:
        await store.put("a" * 64, entry, dt.timedelta(hours=12))
        assert await store.get("a" * 64) == entry
        await store.touch("a" * 64, now + dt.timedelta(minutes=1))
        touched = await store.get("a" * 64)
        assert touched is not None and touched.last_seen_at == now + dt.timedelta(minutes=1)
        ttl = await redis.ttl(store._key("a" * 64))
        assert 0 < ttl <= 12 * 3600, "touching keeps the absolute end"
        store.stale = touched
        await store.drop("a" * 64)
        await store.touch("a" * 64, now + dt.timedelta(minutes=2))
        assert await redis.exists(store._key("a" * 64)) == 0, "the signed-out session stays gone"
    finally:
        await redis.delete(store._key("a" * 64))
        await redis.aclose()
