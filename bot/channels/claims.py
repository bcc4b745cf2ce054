"""Handle a platform delivery once, even when the platform delivers it again while it is being handled.

The record's unique platform message id is the lasting dedupe (bot/core); a claim only keeps concurrent
redeliveries from racing. It is released when handling fails, so the platform's retry is handled, and it
expires soon, so a crash half-way does not block that retry for long.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

# Longer than any turn (two Rasa timeouts and a few queries), so a concurrent redelivery is skipped; short,
# because a worker that dies holding a claim keeps the platform's redelivery from being answered until then.
# A redelivery racing a turn that outlived it waits on the person's lock and is then a stored duplicate.
CLAIM_TTL_SECONDS = 30
T = TypeVar("T")


class Claims(Protocol):
    async def claim(self, key: str, ttl_seconds: int) -> bool: ...

    async def release(self, key: str) -> None: ...


async def handle_once(claims: Claims, key: str, work: Callable[[], Awaitable[T]]) -> T | None:
    """Run `work` unless another delivery of `key` holds the claim (then None)."""
    if not await claims.claim(key, CLAIM_TTL_SECONDS):
        log.info("Delivery %s came again while handled or just after; skipped", key)
        return None
    try:
        return await work()
    except BaseException:
        await claims.release(key)  # let the platform's retry try again
        raise
