"""One update per chat across processes: a killed holder frees the chat soon, a live one keeps it while it works.

Against the shared Redis (REDIS_URL), under a fresh key prefix. aiogram's own lock held a chat for 60 s after
its holder died, which kept Telegram's redelivery of that chat's update waiting for up to a minute. The chat's
lock and the update's claim are taken together (`bot/channels/telegram/gate.py`): both are tested here.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from bot.channels.telegram.factory import HashedKeyBuilder
from bot.channels.telegram.gate import SharedUpdates
from bot.channels.telegram.isolation import ChatBusy, LocalEventIsolation, chat_key
from bot.channels.telegram.nostate import NoStateStorage
from bot.core.conversation import dialogue_state_key
from bot.errors import InFlight
from bot.storage.state import REDIS_DOWN, FallbackStateStore, MemoryStateStore, RedisHealth, RedisStateStore
from tests.keys import TEST_KEYRING
from tests.redis_calls import counting_redis
from tests.telegram.fake_bot_api import TOKEN, button_press, private_message

pytestmark = pytest.mark.asyncio

KEY = StorageKey(bot_id=123456, chat_id=9001, user_id=9001)
LOCK_SECONDS = 0.6


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    yield client
    await client.aclose()


def shared(
    redis: Redis,
    prefix: str,
    wait_seconds: float,
    *,
    busy_seconds: int = 30,
    health: RedisHealth | None = None,
    claims: FallbackStateStore | None = None,
) -> SharedUpdates:
    """One process's gate (several share a prefix, as workers share Redis)."""
    health = health or RedisHealth()
    claims = claims or FallbackStateStore(
        RedisStateStore(redis, TEST_KEYRING, prefix=prefix), MemoryStateStore(), health
    )
    return SharedUpdates(
        redis,
        claims=claims,
        claim_key=claims.shared_claim_key,
        lock_key=HashedKeyBuilder(TEST_KEYRING, prefix=prefix),  # as the app builds it
        availability=health,
        down=REDIS_DOWN,
        state=claims,
        busy_seconds=busy_seconds,
        lock_seconds=LOCK_SECONDS,
        wait_seconds=wait_seconds,
    )


async def _nothing() -> str:
    return "handled"


async def test_a_chat_held_by_a_killed_process_is_free_within_the_lock_time(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    # What a process killed during an update leaves: the chat's lock, never released, never renewed.
    await redis.set(
        HashedKeyBuilder(TEST_KEYRING, prefix=prefix).build(KEY, "lock"), "dead-holder", px=int(LOCK_SECONDS * 1000)
    )
    assert await shared(redis, prefix, wait_seconds=LOCK_SECONDS * 5).run("update:1", KEY, _nothing) == "handled"


async def test_an_update_claimed_by_a_killed_process_is_handled_once_its_claim_expires(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    # What a process killed during an update leaves: the update's claim, busy, never renewed (its lock as above).
    await redis.set(RedisStateStore(redis, TEST_KEYRING, prefix=prefix).claim_key("update:1"), "busy", ex=1)
    redelivery = shared(redis, prefix, wait_seconds=1)
    with pytest.raises(InFlight):  # the claim is still there: a 503, Telegram delivers it again
        await redelivery.run("update:1", KEY, _nothing)
    await asyncio.sleep(1.2)
    assert await redelivery.run("update:1", KEY, _nothing) == "handled", "handled once the claim expired"


async def test_a_duplicate_is_refused_while_in_flight_and_skipped_once_done(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    holding, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def first() -> str:
        runs.append("first")
        holding.set()
        await asyncio.wait_for(release.wait(), timeout=30)
        return "handled"

    one, other = shared(redis, prefix, wait_seconds=5), shared(redis, prefix, wait_seconds=5)
    running = asyncio.create_task(one.run("update:7", KEY, first))
    await asyncio.wait_for(holding.wait(), timeout=10)
    with pytest.raises(InFlight) as refused:  # at once, without waiting for the chat
        await other.run("update:7", KEY, _nothing)
    assert not isinstance(refused.value, ChatBusy)
    release.set()
    assert await running == "handled"
    assert await other.run("update:7", KEY, _nothing) is None, "handled before: acknowledged, not run again"
    assert runs == ["first"]


async def test_a_failed_update_gives_its_claim_and_chat_back_at_once(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    gate = shared(redis, prefix, wait_seconds=0.2)

    async def fails() -> str:
        raise RuntimeError("send failed")

    with pytest.raises(RuntimeError):
        await gate.run("update:9", KEY, fails)
    assert await redis.keys(f"{prefix}*") == [], "neither the claim nor the chat's lock is left"
    assert await gate.run("update:9", KEY, _nothing) == "handled", "Telegram's redelivery is handled at once"


async def test_a_live_update_keeps_its_chat_past_the_lock_time(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    holding = asyncio.Event()
    release = asyncio.Event()

    async def long_update() -> None:
        holding.set()
        await asyncio.wait_for(release.wait(), timeout=30)

    first = asyncio.create_task(shared(redis, prefix, wait_seconds=1).run("update:1", KEY, long_update))
    await asyncio.wait_for(holding.wait(), timeout=10)
    with pytest.raises(ChatBusy):  # renewed: still held after 4 lock times
        await shared(redis, prefix, wait_seconds=LOCK_SECONDS * 4).run("update:2", KEY, _nothing)
    release.set()
    await first
    # given back at the end; the refused update was not claimed, so its redelivery is handled
    assert await shared(redis, prefix, wait_seconds=LOCK_SECONDS).run("update:2", KEY, _nothing) == "handled"


async def test_keys_carry_no_chat_or_update_id(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}"
    seen: list[bytes] = []

    async def look() -> None:
        seen.extend(await redis.keys(f"{prefix}*"))

    await shared(redis, prefix, wait_seconds=1).run("telegram:update:123456:424242", KEY, look)
    assert len(seen) == 2, "the claim and the chat's lock"
    assert not any(b"9001" in key or b"424242" in key for key in seen)


HANG_GUARD = 30.0  # a wait that never ends fails the test instead of hanging it


async def _enter(isolation: LocalEventIsolation, key: StorageKey) -> None:
    async with isolation.lock(key):
        pass


async def test_without_redis_a_chat_waits_at_most_its_wait_then_gets_a_503() -> None:
    """In one process (no Redis, or Redis away) the wait is bounded too: aiogram's own lock waited for ever."""
    local = LocalEventIsolation(wait_seconds=0.2)
    async with local.lock(KEY):
        with pytest.raises(InFlight):  # the webhook answers 503 and Telegram delivers it again
            await asyncio.wait_for(_enter(local, KEY), HANG_GUARD)
        other_chat = StorageKey(bot_id=123456, chat_id=9002, user_id=9002)
        await asyncio.wait_for(_enter(local, other_chat), HANG_GUARD)  # another chat is not held
    await asyncio.wait_for(_enter(local, KEY), HANG_GUARD)  # free once the first update is done


async def test_while_redis_is_away_the_gate_holds_the_chat_in_process() -> None:
    away = RedisHealth(retry_seconds=3600)
    away.failed(ConnectionError("down"))  # as the state store marks it: no Redis call is made
    unreachable = Redis.from_url("redis://127.0.0.1:9/0")
    gate = shared(unreachable, "pana:", wait_seconds=0.2, health=away)
    holding, release = asyncio.Event(), asyncio.Event()

    async def long_update() -> str:
        holding.set()
        await asyncio.wait_for(release.wait(), HANG_GUARD)
        return "handled"

    try:
        first = asyncio.create_task(gate.run("update:1", KEY, long_update))
        await asyncio.wait_for(holding.wait(), HANG_GUARD)
        with pytest.raises(InFlight):  # the chat is held in this process: a 503 after the bounded wait
            await asyncio.wait_for(gate.run("update:2", KEY, _nothing), HANG_GUARD)
        other_chat = StorageKey(bot_id=123456, chat_id=9002, user_id=9002)
        assert await asyncio.wait_for(gate.run("update:3", other_chat, _nothing), HANG_GUARD) == "handled"
        release.set()
        assert await first == "handled"
        assert await gate.run("update:1", KEY, _nothing) is None, "the in-process claims dedupe meanwhile"
    finally:
        await unreachable.aclose()


@pytest.mark.parametrize(
    "update",
    [
        private_message(1, "hello"),
        private_message(2, "hello", chat_id=-100123),  # a group: the user in the chat
        button_press(3, "o|lang:kk|AAAAAAAA"),
        {  # a channel's post: a chat, no user
            "update_id": 4,
            "channel_post": {"message_id": 1, "date": 0, "chat": {"id": -100555, "type": "channel"}, "text": "news"},
        },
    ],
    ids=["private", "group", "button", "no user"],
)
async def test_the_chat_is_named_as_aiogram_s_fsm_named_it(update: dict[str, Any]) -> None:
    """The lock's key is unchanged by switching aiogram's FSM off: old and new processes hold the same chats."""
    bot = Bot(TOKEN)
    seen: dict[str, Any] = {}

    async def keep(event: TelegramObject, data: dict[str, Any]) -> None:
        seen.update(data)

    context_middleware = UserContextMiddleware()
    await context_middleware(keep, Update.model_validate(update, context={"bot": bot}), {"bot": bot})
    fsm = FSMContextMiddleware(storage=NoStateStorage(), events_isolation=LocalEventIsolation())
    by_aiogram = fsm.resolve_event_context(bot, seen)
    assert chat_key(bot.id, seen) == (by_aiogram.key if by_aiogram is not None else None)


async def test_the_turn_reads_its_chats_dialogue_state_from_the_take_script_once(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state the previous turn wrote comes with the lock; the turn's own writes are read back from Redis."""
    prefix = f"pana-test-{uuid.uuid4().hex}"
    health = RedisHealth()
    store = FallbackStateStore(RedisStateStore(redis, TEST_KEYRING, prefix=prefix), MemoryStateStore(), health)
    gate = shared(redis, prefix, wait_seconds=1, health=health, claims=store)
    mine, other = dialogue_state_key("telegram", str(KEY.chat_id)), dialogue_state_key("telegram", "1")
    await store.set(mine, {"failures": 2}, 60)
    await store.set(other, {"failures": 5}, 60)
    seen: list[Any] = []

    async def turn() -> str:
        with counting_redis(monkeypatch) as counted:
            seen.append(await store.get(mine))  # read ahead: no round trip
            seen.append(counted.round_trips)
            seen.append(await store.get(other))  # another key: asked of Redis
            await store.set(mine, {"failures": 3}, 60)
            seen.append(await store.get(mine))  # after the turn's own write: asked of Redis, not the stale copy
            seen.append(counted.round_trips)
        return "handled"

    assert await gate.run("update:11", KEY, turn) == "handled"
    assert seen == [{"failures": 2}, 0, {"failures": 5}, {"failures": 3}, 3]
    assert await store.get(mine) == {"failures": 3}  # outside a turn: Redis as ever

    await store.delete(mine)
    seen.clear()

    async def first_turn() -> str:
        seen.append(await store.get(mine))
        return "handled"

    assert await gate.run("update:12", KEY, first_turn) == "handled"
    assert seen == [None]  # no state yet: read ahead as none
    seen.clear()

    async def writes_first() -> str:
        await store.set(mine, {"failures": 9}, 60)
        seen.append(await store.get(mine))  # written before read: the copy read ahead is stale, and forgotten
        return "handled"

    assert await gate.run("update:13", KEY, writes_first) == "handled"
    assert seen == [{"failures": 9}]
    seen.clear()
    later: list[asyncio.Task[None]] = []

    async def reads_after_the_turn() -> None:
        await asyncio.sleep(0.05)
        seen.append(await store.get(mine))

    async def starts_a_task() -> str:  # and never reads the state itself
        later.append(asyncio.create_task(reads_after_the_turn()))
        return "handled"

    await store.set(mine, {"failures": 1}, 60)
    assert await gate.run("update:14", KEY, starts_a_task) == "handled"
    await store.set(mine, {"failures": 4}, 60)  # written after the turn, before the task reads
    await later[0]
    assert seen == [{"failures": 4}]  # the task copied the turn's context, not its copy of the state
