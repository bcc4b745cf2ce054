"""Telling lawyers about waiting cases: to those who speak the case's language, or to the lawyers' group."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.clock import Clock
from bot.core.messages import Reply
from bot.faults import crash_point
from bot.handoff.cards import CaseCards
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore, LawyerStore
from bot.hours import WorkingHours
from bot.languages import Language
from bot.records.cases import CaseRecord, LawyerRecord

log = logging.getLogger(__name__)
NEVER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# Longer than announcing can take (each chat's send with the Bot API's retries, all chats at once): a
# process that dies while announcing leaves the case to the next sweep after this.
ANNOUNCE_LEASE = dt.timedelta(minutes=15)


def audience(lawyers: list[LawyerRecord], language: Language) -> list[LawyerRecord]:
    """The lawyers who speak the case's language; everyone when nobody does (better than nobody)."""
    speaking = [lawyer for lawyer in lawyers if language in lawyer.languages]
    return speaking or lawyers


class Announcer:
    def __init__(
        self,
        *,
        cases: CaseStore,
        lawyers: LawyerStore,
        outbox: Outbox,
        cards: CaseCards,
        hours: WorkingHours,
        group_chat_id: int | None,
        group_language: Language,
        reannounce_after: dt.timedelta,
        clock: Clock,
        lease: dt.timedelta = ANNOUNCE_LEASE,
    ) -> None:
        self._cases = cases
        self._lawyers = lawyers
        self._outbox = outbox
        self._cards = cards
        self._hours = hours
        self._group_chat_id = group_chat_id
        self._group_language = group_language
        self._reannounce_after = reannounce_after
        self._clock = clock
        self._lease = lease

    async def announce_new(self, case: CaseRecord) -> bool:
        """Announce a case that was never announced (or was put back in the queue)."""
        return await self._announce(case, NEVER)

    async def announce_due(self) -> int:
        """Announce what nobody announced yet and, during working hours, what has waited too long."""
        now = self._clock()
        again_before = now - self._reannounce_after if self._hours.is_open(now) else NEVER
        announced = 0
        for case in await self._cases.due_announcements(again_before):
            announced += await self._announce(case, again_before)
        return announced

    async def _announce(self, case: CaseRecord, again_before: dt.datetime) -> bool:
        notifier = self._outbox.notifier
        if notifier is None:
            return False  # the process running the Telegram bot announces it
        if self._group_chat_id is not None:
            chats = [(self._group_chat_id, self._group_language)]
        else:
            lawyers = audience(await self._lawyers.active(), case.language)
            # web-only lawyers see it in the console's queue, live
            chats = [(lawyer.telegram_id, lawyer.ui_language) for lawyer in lawyers if lawyer.telegram_id is not None]
        if not chats:
            return False  # nobody to tell: a later sweep, once a lawyer is registered
        now = self._clock()
        if not await self._cases.claim_announcement(case.id, again_before, now, now + self._lease):
            return False  # another process is announcing it or just did, or it was taken
        crash_point("announcing")
        # All at once: the person who just consented waits for this, and one slow chat must not hold the others.
        sent = await asyncio.gather(*(notifier.send(chat, self._reply(case, language)) for chat, language in chats))
        if any(sent):
            crash_point("announcement_sent")
            await self._cases.confirm_announcement(case.id, self._clock())  # only now: a crash before re-announces
            return True
        log.warning("Case %d could not be announced to any lawyer; the next sweep tries again", case.id)
        await self._cases.unclaim_announcement(case.id, now)
        return False

    def _reply(self, case: CaseRecord, language: Language) -> Reply:
        return Reply(self._cards.announcement(case, language), (self._cards.take_option(case, language),))
