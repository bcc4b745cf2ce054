"""The lawyer handoff's parts, built together by the composition root (bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.handoff.desk import LawyerDesk
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore, LawyerStore
from bot.handoff.queue import HandoffQueue
from bot.handoff.worker import HandoffWorker


@dataclass(frozen=True)
class HandoffServices:
    queue: HandoffQueue  # the core's Handoff port
    desk: LawyerDesk  # what lawyers do, from the Telegram lawyers' router
    outbox: Outbox  # where channels register how to reach their users
    worker: HandoffWorker  # retries, re-announcements, idle cases; started by `pana serve` and `pana chat`
    lawyers: LawyerStore
    cases: CaseStore
