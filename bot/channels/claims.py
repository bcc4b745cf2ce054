"""Handle a platform delivery once, even when the platform delivers it again while it is being handled.

The record's unique platform message id is the lasting dedupe (bot/core); a claim only keeps concurrent
redeliveries from racing, in two states:

- `busy` while a delivery is handled: a short expiry (`PANA_CLAIM_SECONDS`), renewed while the work runs, so
  a claim left by a process killed half-way ends within it and the platform's next retry is handled. A duplicate
  that finds it gets `InFlight`: a retryable answer (HTTP 503), never a 200 that drops it.
- `done` once handled: a duplicate within `DONE_SECONDS` is acknowledged and skipped.

A claim is released when handling fails, so the platform's retry is handled at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol, TypeVar

from bot.channels.renewal import Renewal
from bot.errors import InFlight
from bot.faults import crash_point

log = logging.getLogger(__name__)

BUSY_SECONDS = 30
DONE_SECONDS = 15 * 60
ClaimState = Literal["busy", "done"]
T = TypeVar("T")


class Claims(Protocol):
    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """Mark the key busy unless it is claimed (busy or done); False if it was."""
        ...

    async def claim_state(self, key: str) -> ClaimState | None: ...

    async def renew(self, key: str, ttl_seconds: int) -> None:
        """Keep a busy claim for another `ttl_seconds` (only while it is still there)."""
        ...

    async def finish(self, key: str, ttl_seconds: int) -> None:
        """Mark the key done for `ttl_seconds`."""
        ...

    async def release(self, key: str) -> None: ...


async def handle_once(
    claims: Claims, key: str, work: Callable[[], Awaitable[T]], *, busy_seconds: int = BUSY_SECONDS
) -> T | None:
    """Run `work` unless it ran already (then None); raise `InFlight` while another delivery runs it."""
    if not await claims.claim(key, busy_seconds):
        if await claims.claim_state(key) == "done":
            log.info("Delivery %s came again after it was handled; skipped", key)
            return None
        raise InFlight(f"delivery {key} is being handled")
    crash_point("claim_taken")
    renewal = Renewal(lambda: _keep_busy(claims, key, busy_seconds), busy_seconds / 3)  # a timer, no task
    try:
        result = await work()
    except BaseException:
        await renewal.stop()
        await claims.release(key)  # let the platform's retry try again
        raise
    await renewal.stop()
    crash_point("before_claim_done")
    await claims.finish(key, DONE_SECONDS)
    return result


async def _keep_busy(claims: Claims, key: str, busy_seconds: int) -> bool:
    try:
        await claims.renew(key, busy_seconds)
    except Exception:  # Redis briefly away: the record's lease still guards the message
        log.warning("Could not renew the claim on %s", key)
    return True  # and again at the next interval
