"""The recovery sweep: messages stored but never answered are answered after a short grace period.

A process killed between storing a message and sending its replies, a send that failed in long polling
(Telegram never delivers that update again), a Twilio request that timed out: each leaves an inbound
message without `answered_at`. Once its grace period has passed and no process holds it (its lease ended),
the sweep hands it back to its channel as a redelivery: replies decided before are sent (the parts not sent
yet), a message never decided is decided now. The message's lease makes this exactly once across processes:
a worker that cannot take it (another one is on it) skips it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.clock import Clock
from bot.core.messages import IncomingMessage
from bot.core.ports import UnansweredMessages
from bot.errors import InFlight
from bot.periodic import Periodic

__all__ = ["Recovery", "Replay"]

log = logging.getLogger(__name__)

Replay = Callable[[IncomingMessage], Awaitable[None]]
AnsweredElsewhere = Callable[[int], Awaitable[bool]]  # True: the message was answered otherwise; settled, not replayed


class Recovery:
    def __init__(
        self,
        store: UnansweredMessages,
        *,
        grace: dt.timedelta,
        max_age: dt.timedelta,
        interval_seconds: float,
        clock: Clock,
    ) -> None:
        self._store = store
        self._grace = grace
        self._max_age = max_age
        self._clock = clock
        self._replays: dict[str, Replay] = {}
        self._answered_elsewhere: AnsweredElsewhere | None = None
        self._loop = Periodic("recovery sweep", self.run_once, interval_seconds)

    def register(self, channel: str, replay: Replay) -> None:
        """Let the sweep answer this channel's messages (the process runs that channel)."""
        self._replays[channel] = replay

    def skip_when(self, answered_elsewhere: AnsweredElsewhere) -> None:
        """Ask before each replay whether the message was answered outside the record (an outage's static reply)."""
        self._answered_elsewhere = answered_elsewhere

    async def run_once(self) -> int:
        """Answer what is due; how many messages were handed back to their channel."""
        if not self._replays:
            return 0
        now = self._clock()
        due = await self._store.unanswered(
            list(self._replays), stored_after=now - self._max_age, stored_before=now - self._grace, now=now
        )
        answered = 0
        for item in due:
            try:
                if self._answered_elsewhere is not None and await self._answered_elsewhere(item.message_id):
                    log.info("Message %d was answered by an outage's static reply; not replayed", item.message_id)
                    continue
                await self._replays[item.message.channel](item.message)
            except InFlight:
                continue  # another process took it between the query and now
            except Exception:  # this one fails again: its lease is released, the next sweep retries it
                log.exception("Recovering message %d failed", item.message_id)
                continue
            log.info("Message %d was stored but unanswered; answered by the recovery sweep", item.message_id)
            answered += 1
        return answered

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
