"""Each Telegram update once, and one update per chat at a time, across processes: one Redis round trip each way.

The update's claim (`bot/channels/claims.py`: busy while handled, done after) and the chat's lock
(`isolation.py`) were two layers, each with its own round trip to take, its own to give back and its own renewing
task per update. Here one script takes both, one gives both back, and one timer renews both, only when an update
outlasts a third of the lock's time. Nothing is weakened:

- a duplicate of an update being handled gets `InFlight` (a 503: Telegram delivers it again); one of an update
  handled within `DONE_SECONDS` is acknowledged and skipped; the record's unique message id stays the lasting
  dedupe;
- a chat's next update waits for the one being handled, at most `wait_seconds`, then gets `ChatBusy` (a 503);
- a process killed half-way leaves a claim and a lock that expire (the lock within `LOCK_SECONDS`, the claim
  within `busy_seconds`); a failed update gives both back at once, so Telegram's redelivery is handled;
- while Redis is away, the in-process lock and the state store's in-process claims stand in (the shared health
  flag: one warning, a retry every few seconds), as `FallbackStateStore` does for the dialogue state;
- the keys are the state store's claim key and the chat lock's key, both keyed hashes: no chat or update id.

The take script also reads the chat's dialogue state (its key a keyed hash too) and hands it to the turn
(`StateReadAhead`): the conversation's first read of it costs no round trip of its own. Under the chat's lock
nothing but this turn writes that state, so the value read with the lock is the one a later read would get.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from aiogram import BaseMiddleware
from aiogram.fsm.storage.base import KeyBuilder, StorageKey
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from bot.channels.claims import BUSY_SECONDS, DONE_SECONDS, Claims, handle_once
from bot.channels.renewal import Renewal
from bot.channels.telegram.convert import CHANNEL
from bot.channels.telegram.isolation import (
    LOCK_SECONDS,
    POLL_SECONDS,
    WAIT_SECONDS,
    Availability,
    ChatBusy,
    LocalEventIsolation,
    chat_key,
)
from bot.core.conversation import dialogue_state_key
from bot.errors import InFlight
from bot.faults import crash_point

log = logging.getLogger(__name__)

T = TypeVar("T")

# KEYS: the claim, the chat's lock, the chat's dialogue state. ARGV: this holder's token, the claim's seconds, the
# lock's milliseconds. The claim is looked at first: a duplicate never waits for the chat; the lock and the claim
# are taken together, and the state is read once they are (`false`, a nil in the answer, when there is none).
_TAKE = """
local claim = redis.call('GET', KEYS[1])
if claim then
  return claim
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then
  return 'wait'
end
redis.call('SET', KEYS[1], 'busy', 'EX', ARGV[2])
return {'taken', redis.call('GET', KEYS[3])}
"""
# ARGV: the token, then the seconds the claim stays done (0: the update failed, the claim is dropped).
# The lock is deleted only while it is still this holder's (it may have expired and been taken since).
_GIVE_BACK = """
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
# ARGV: the token, the claim's seconds, the lock's milliseconds. 1 while the lock is still this holder's.
_RENEW = """
redis.call('SET', KEYS[1], 'busy', 'XX', 'EX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0
"""


class StateReadAhead(Protocol):
    """The dialogue state store, as the gate reads a chat's state ahead (bot/storage/state.py)."""

    def shared_state_key(self, key: str) -> str: ...

    def read_ahead(self, key: str, raw: bytes | None) -> AbstractContextManager[None]: ...


class SharedUpdates:
    """Run an update's work once, alone in its chat, across every process sharing this Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        claims: Claims,
        claim_key: Callable[[str], str],
        lock_key: KeyBuilder,
        availability: Availability,
        down: tuple[type[BaseException], ...],
        state: StateReadAhead,
        busy_seconds: int = BUSY_SECONDS,
        lock_seconds: float = LOCK_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._claims = claims  # the state store's claims: in-process while Redis is away
        self._claim_key = claim_key  # the Redis key `claims` uses, so both paths see one claim
        self._lock_key = lock_key
        self._state = state
        self._availability = availability
        self._down = down
        self._busy_seconds = busy_seconds
        self._lock_ms = max(1, round(lock_seconds * 1000))
        self._wait_seconds = wait_seconds
        self._renew_every = min(busy_seconds, lock_seconds) / 3
        self._local = LocalEventIsolation(wait_seconds)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._renew = redis.register_script(_RENEW)

    async def run(self, key: str, chat: StorageKey, work: Callable[[], Awaitable[T]]) -> T | None:
        """`work` unless it ran already (None); `InFlight` while another delivery runs it, `ChatBusy` after a wait."""
        dialogue = dialogue_state_key(CHANNEL, str(chat.chat_id))
        keys = [self._claim_key(key), self._lock_key.build(chat, "lock"), self._state.shared_state_key(dialogue)]
        taken = await self._taken(key, keys) if self._availability.worth_trying() else None
        if taken is None:  # Redis away: this process's lock and claims
            async with self._local.lock(chat):
                return await handle_once(self._claims, key, work, busy_seconds=self._busy_seconds)
        token, state = taken
        if token == _DONE:
            log.info("Delivery %s came again after it was handled; skipped", key)
            return None
        crash_point("claim_taken")
        renewal = Renewal(lambda: self._keep(keys, token), self._renew_every)  # a timer, no task
        try:
            with self._state.read_ahead(dialogue, state):
                result = await work()
        except BaseException:
            await renewal.stop()
            await self._give(key, keys, token, done_seconds=0)  # Telegram's redelivery is handled at once
            raise
        await renewal.stop()
        crash_point("before_claim_done")
        await self._give(key, keys, token, done_seconds=DONE_SECONDS)
        return result

    async def _taken(self, key: str, keys: list[str]) -> tuple[str, bytes | None] | None:
        """This holder's token and the chat's dialogue state once the claim and the lock are taken; `_DONE`;
        None when Redis is away."""
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_seconds
        while True:
            try:
                answer = await self._take(keys=keys, args=[token, self._busy_seconds, self._lock_ms])
            except self._down as error:
                self._availability.failed(error)
                return None
            self._availability.succeeded()
            if isinstance(answer, list) and answer[0] == b"taken":
                return token, answer[1]
            if answer == b"done":
                return _DONE, None
            if answer != b"wait":  # busy: another delivery of this update is being handled
                raise InFlight(f"delivery {key} is being handled")
            if loop.time() >= deadline:
                raise ChatBusy("the chat's previous update is still being handled")
            await asyncio.sleep(POLL_SECONDS)

    async def _give(self, key: str, keys: list[str], token: str, *, done_seconds: int) -> None:
        try:
            released = await self._give_back(keys=keys, args=[token, done_seconds])
        except self._down as error:  # the claim goes to the in-process store; the lock expires by itself
            self._availability.failed(error)
            log.warning("Could not give a chat lock back to Redis; it expires by itself")
            if done_seconds:
                await self._claims.finish(key, done_seconds)
            return
        if not released:
            log.warning("A chat lock had expired before its update ended")

    async def _keep(self, keys: list[str], token: str) -> bool:
        """Renew the claim and the lock: a long update keeps its chat, a killed process does not."""
        try:
            if not await self._renew(keys=keys, args=[token, self._busy_seconds, self._lock_ms]):
                log.warning("A chat lock expired while its update ran; the update goes on without it")
        except self._down:
            log.warning("Could not renew a chat lock in Redis; it may expire before the update ends")
        return True  # the claim is renewed as long as the update runs


_DONE = "done"  # `_taken`'s answer for an update handled before (a token is 32 hex digits, never this)


class UpdateGate(BaseMiddleware):
    """Outer middleware on `dp.update`, after aiogram's user context middleware (which names the chat)."""

    def __init__(self, updates: SharedUpdates, claims: Claims, bot_id: int, *, busy_seconds: int = BUSY_SECONDS):
        self._bot_id = bot_id
        self._updates = updates
        self._claims = claims
        self._busy_seconds = busy_seconds
        self._prefix = f"telegram:update:{bot_id}:"  # as `UpdateDedupeMiddleware`: one claim, whichever ran it

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):  # registered on dispatcher.update: only updates come here
            return await handler(event, data)
        key = f"{self._prefix}{event.update_id}"
        chat = chat_key(self._bot_id, data)
        if chat is None:  # no chat or user (e.g. a poll's answer): the claim alone
            return await handle_once(self._claims, key, lambda: handler(event, data), busy_seconds=self._busy_seconds)
        return await self._updates.run(key, chat, lambda: handler(event, data))
