"""The case queue's clock: retry undelivered relays, announce waiting cases, return neglected ones.

Started by `pana serve` (and by `pana chat`, which delivers to its own console user). Every step is
safe with several processes on one database: each change is claimed with a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import Clock
from bot.core.messages import Reply
from bot.handoff import notices
from bot.handoff.announce import Announcer
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore, LawyerStore
from bot.handoff.withdrawal import Withdrawals
from bot.i18n import Translator, bound
from bot.periodic import Lease, Periodic
from bot.records.cases import RelayKind

log = logging.getLogger(__name__)


class HandoffWorker:
    def __init__(
        self,
        *,
        cases: CaseStore,
        lawyers: LawyerStore,
        outbox: Outbox,
        announcer: Announcer,
        translator: Translator,
        idle_return_after: dt.timedelta,
        interval_seconds: float,
        clock: Clock,
        withdrawals: Withdrawals | None = None,
        lease: Lease | None = None,
    ) -> None:
        self._cases = cases
        self._lawyers = lawyers
        self._outbox = outbox
        self._announcer = announcer
        self._translator = translator
        self._idle_return_after = idle_return_after
        self._clock = clock
        self._withdrawals = withdrawals
        self._loop = Periodic("handoff sweep", self.run_once, interval_seconds, lease)

    async def run_once(self) -> None:
        """One sweep; each step's failure is logged and does not stop the others."""
        steps = [self._outbox.deliver_due, self._return_idle_cases, self._announcer.announce_due]
        if self._withdrawals is not None:
            steps.append(self._withdrawals.run_once)
        for step in steps:
            try:
                await step()
            except Exception:  # the database or Telegram may be briefly away: the next sweep tries again
                log.exception("Handoff sweep step %s failed", getattr(step, "__name__", step))

    async def _return_idle_cases(self) -> int:
        """Cases whose lawyer has not acted for too long go back to the queue; both sides are told."""
        if self._outbox.notifier is None:
            return 0  # left to the process that can tell the lawyer (the one running the Telegram bot)
        inactive_since = self._clock() - self._idle_return_after
        returned = 0
        for case in await self._cases.idle_assigned(inactive_since):
            if not await self._cases.return_idle(case.id, inactive_since, self._clock()):
                continue  # the lawyer acted just now, or another process returned it
            returned += 1
            log.info("Case %d returned to the queue: no lawyer activity", case.id)
            lawyer = await self._lawyers.get(case.lawyer_id) if case.lawyer_id is not None else None
            if lawyer is not None:
                if lawyer.current_case_id == case.id:
                    await self._lawyers.set_current_case(lawyer.id, None)
                text = self._translator.gettext(
                    "Case #{case} went back to the queue because nothing happened on it for a long time.",
                    lawyer.ui_language,
                ).format(case=case.id)
                await self._outbox.tell_lawyer(lawyer, Reply(text))
            fresh = await self._cases.get(case.id)
            if fresh is not None:
                _ = bound(self._translator, fresh.language)
                await self._outbox.to_user(fresh, RelayKind.NOTICE, notices.back_in_queue(_, case.id))
                await self._announcer.announce_new(fresh)
        return returned

    # --- running in the background ---------------------------------------------------------------------
    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
