"""The handoff's stores (bot/handoff/ports.py) in memory, with the record's rules as conditional changes.

Each change succeeds only from the state the SQL `UPDATE ... WHERE` of bot/storage/ requires, so the
queue's races (two lawyers taking one case, a second consent tap) behave as they do on a database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

from bot.languages import Language
from bot.records.cases import (
    CaseRecord,
    CaseStatus,
    DeliveryState,
    Direction,
    LawyerRecord,
    NewCase,
    RelayKind,
    RelayRecord,
    RelayStatus,
)

WAITING, ASSIGNED, CLOSED = CaseStatus.WAITING, CaseStatus.ASSIGNED, CaseStatus.CLOSED


@dataclass
class MemoryCaseStore:
    contacts: dict[int, tuple[str, str]] = field(default_factory=dict)  # contact id → (channel, platform id)
    texts: dict[int, list[str]] = field(default_factory=dict)  # contact id → what they wrote, oldest first
    cases: dict[int, CaseRecord] = field(default_factory=dict)
    notes_by_case: dict[int, list[str]] = field(default_factory=dict)
    audit_log: list[tuple[str, str, int | None]] = field(default_factory=list)
    announcing: dict[int, dt.datetime] = field(default_factory=dict)  # case id → the announcing lease
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- reading -----------------------------------------------------------------------------------------
    async def get(self, case_id: int) -> CaseRecord | None:
        return self.cases.get(case_id)

    async def open_case_of(self, contact_id: int) -> CaseRecord | None:
        return next((c for c in self.cases.values() if c.contact_id == contact_id and c.status is not CLOSED), None)

    async def latest_closed(self, contact_id: int, since: dt.datetime) -> CaseRecord | None:
        closed = [c for c in self.cases.values() if c.contact_id == contact_id and c.closed_at and c.closed_at >= since]
        return max(closed, key=lambda c: c.id, default=None)

    async def waiting(self) -> list[CaseRecord]:
        return sorted((c for c in self.cases.values() if c.status is WAITING), key=_queue_order)

    async def assigned_to(self, lawyer_id: int) -> list[CaseRecord]:
        return [c for c in self.cases.values() if c.status is ASSIGNED and c.lawyer_id == lawyer_id]

    async def position(self, case: CaseRecord) -> int:
        return sum(1 for c in await self.waiting() if c.id != case.id and _queue_order(c) < _queue_order(case)) + 1

    async def due_announcements(self, reannounce_before: dt.datetime) -> list[CaseRecord]:
        return [c for c in await self.waiting() if c.announced_at is None or c.announced_at <= reannounce_before]

    async def idle_assigned(self, inactive_since: dt.datetime) -> list[CaseRecord]:
        return [
            c
            for c in self.cases.values()
            if c.status is ASSIGNED and c.lawyer_active_at is not None and c.lawyer_active_at < inactive_since
        ]

    async def recent_user_texts(self, contact_id: int, limit: int, since: dt.datetime | None = None) -> list[str]:
        return self.texts.get(contact_id, [])[-limit:] if limit > 0 else []

    async def notes(self, case_id: int) -> list[str]:
        return list(self.notes_by_case.get(case_id, []))

    # --- changing ----------------------------------------------------------------------------------------
    async def open(self, new: NewCase, now: dt.datetime) -> CaseRecord | None:
        if await self.open_case_of(new.contact_id) is not None:
            return None  # the database refuses a second open case
        channel, platform_id = self.contacts[new.contact_id]
        case = CaseRecord(
            id=next(self._ids),
            contact_id=new.contact_id,
            channel=channel,
            platform_id=platform_id,
            language=new.language,
            topic=new.topic,
            urgent=new.urgent,
            reason=new.reason,
            summary=new.summary,
            status=WAITING,
            lawyer_id=None,
            created_at=now,
            assigned_at=None,
            lawyer_active_at=None,
            announced_at=None,
            closed_at=None,
            outcome=None,
            rating=None,
        )
        self.cases[case.id] = case
        return case

    async def claim(self, case_id: int, lawyer_id: int, now: dt.datetime) -> bool:
        return self._change(
            case_id,
            lambda c: c.status is WAITING,
            status=ASSIGNED,
            lawyer_id=lawyer_id,
            assigned_at=now,
            lawyer_active_at=now,
        )

    async def release(self, case_id: int, lawyer_id: int, now: dt.datetime) -> bool:
        return self._change(
            case_id,
            lambda c: c.status is ASSIGNED and c.lawyer_id == lawyer_id,
            status=WAITING,
            lawyer_id=None,
            assigned_at=None,
            announced_at=None,
        )

    async def return_idle(self, case_id: int, inactive_since: dt.datetime, now: dt.datetime) -> bool:
        return self._change(
            case_id,
            lambda c: c.status is ASSIGNED and c.lawyer_active_at is not None and c.lawyer_active_at < inactive_since,
            status=WAITING,
            lawyer_id=None,
            assigned_at=None,
            announced_at=None,
        )

    async def close(self, case_id: int, lawyer_id: int, outcome: str, now: dt.datetime) -> bool:
        return self._change(
            case_id,
            lambda c: c.status is ASSIGNED and c.lawyer_id == lawyer_id,
            status=CLOSED,
            closed_at=now,
            outcome=outcome,
            lawyer_active_at=now,
        )

    async def rate(self, case_id: int, contact_id: int, rating: int, now: dt.datetime) -> bool:
        return self._change(
            case_id, lambda c: c.contact_id == contact_id and c.status is CLOSED and c.rating is None, rating=rating
        )

    async def set_city(self, case_id: int, contact_id: int, city: str) -> bool:
        return self._change(case_id, lambda c: c.contact_id == contact_id and c.status is not CLOSED, city=city)

    async def claim_announcement(
        self, case_id: int, reannounce_before: dt.datetime, now: dt.datetime, lease_until: dt.datetime
    ) -> bool:
        def free(c: CaseRecord) -> bool:
            lease = self.announcing.get(c.id)
            due = c.announced_at is None or c.announced_at <= reannounce_before
            return c.status is WAITING and due and (lease is None or lease < now)

        case = self.cases.get(case_id)
        if case is None or not free(case):
            return False
        self.announcing[case_id] = lease_until
        return True

    async def confirm_announcement(self, case_id: int, now: dt.datetime) -> bool:
        self.announcing.pop(case_id, None)
        changed = self._change(case_id, lambda c: c.status is WAITING, announced_at=now)
        if changed:
            self.audit_log.append(("system", "announced", case_id))
        return changed

    async def unclaim_announcement(self, case_id: int, now: dt.datetime) -> bool:
        if self.announcing.pop(case_id, None) is None:
            return False
        return self._change(case_id, lambda c: True, announced_at=None)

    async def opened_since(self, contact_id: int, since: dt.datetime) -> int:
        return sum(1 for c in self.cases.values() if c.contact_id == contact_id and c.created_at >= since)

    async def lawyer_acted(self, case_id: int, lawyer_id: int, action: str, now: dt.datetime) -> bool:
        return self._change(case_id, lambda c: c.status is ASSIGNED and c.lawyer_id == lawyer_id, lawyer_active_at=now)

    async def add_note(self, case_id: int, lawyer_id: int, text: str, now: dt.datetime) -> bool:
        case = self.cases.get(case_id)
        if case is None or case.status is not ASSIGNED or case.lawyer_id != lawyer_id:
            return False
        self.notes_by_case.setdefault(case_id, []).append(text)
        return True

    async def audit(
        self, actor: str, action: str, now: dt.datetime, *, lawyer_id: int | None = None, case_id: int | None = None
    ) -> None:
        self.audit_log.append((actor, action, case_id))

    def _change(self, case_id: int, allowed: Any, **values: Any) -> bool:
        case = self.cases.get(case_id)
        if case is None or not allowed(case):
            return False
        self.cases[case_id] = replace(case, **values)
        return True


def _queue_order(case: CaseRecord) -> tuple[bool, dt.datetime, int]:
    return (not case.urgent, case.created_at, case.id)


@dataclass
class MemoryLawyerStore:
    lawyers: dict[int, LawyerRecord] = field(default_factory=dict)

    async def add(self, telegram_id: int, name: str, languages: tuple[Language, ...]) -> LawyerRecord:
        known = await self.active_by_telegram_id(telegram_id) or next(
            (lawyer for lawyer in self.lawyers.values() if lawyer.telegram_id == telegram_id), None
        )
        lawyer = LawyerRecord(known.id if known else len(self.lawyers) + 1, telegram_id, name, languages, True)
        self.lawyers[lawyer.id] = lawyer
        return lawyer

    async def deactivate(self, telegram_id: int) -> tuple[LawyerRecord, int] | None:
        lawyer = await self.active_by_telegram_id(telegram_id)
        if lawyer is None:
            return None
        self.lawyers[lawyer.id] = replace(lawyer, active=False, current_case_id=None)
        return self.lawyers[lawyer.id], 0

    async def all(self) -> list[LawyerRecord]:
        return list(self.lawyers.values())

    async def active(self) -> list[LawyerRecord]:
        return [lawyer for lawyer in self.lawyers.values() if lawyer.active]

    async def any_active(self) -> bool:
        return bool(await self.active())

    async def active_by_telegram_id(self, telegram_id: int) -> LawyerRecord | None:
        return next((x for x in self.lawyers.values() if x.telegram_id == telegram_id and x.active), None)

    async def get(self, lawyer_id: int) -> LawyerRecord | None:
        return self.lawyers.get(lawyer_id)

    async def set_current_case(self, lawyer_id: int, case_id: int | None) -> None:
        self.lawyers[lawyer_id] = replace(self.lawyers[lawyer_id], current_case_id=case_id)


@dataclass
class MemoryRelayStore:
    cases: MemoryCaseStore  # a relay to a user is due here only if this process reaches the case's channel
    relays: dict[int, RelayRecord] = field(default_factory=dict)
    due_at: dict[int, dt.datetime] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    messages: dict[tuple[int, str], int] = field(default_factory=dict)  # (chat, message id) → case id
    sources: dict[int, int] = field(default_factory=dict)  # source message id → relay id (unique, as in SQL)

    async def add(
        self,
        case_id: int,
        direction: Direction,
        kind: RelayKind,
        text: str,
        now: dt.datetime,
        *,
        lawyer_id: int | None = None,
        source_message_id: int | None = None,
    ) -> RelayRecord:
        if source_message_id is not None and source_message_id in self.sources:
            return self.relays[self.sources[source_message_id]]
        relay = RelayRecord(len(self.relays) + 1, case_id, direction, kind, text, lawyer_id, RelayStatus.PENDING, 0)
        self.relays[relay.id] = relay
        if source_message_id is not None:
            self.sources[source_message_id] = relay.id
        self.due_at[relay.id] = now
        return relay

    async def claim(self, relay_id: int, now: dt.datetime) -> RelayRecord | None:
        relay = self.relays[relay_id]
        if relay.status is not RelayStatus.PENDING or relay_id in self.claimed:
            return None
        self.claimed.add(relay_id)
        self.relays[relay_id] = replace(relay, attempts=relay.attempts + 1)
        return self.relays[relay_id]

    async def due(
        self, now: dt.datetime, *, user_channels: Collection[str], to_lawyers: bool, limit: int = 100
    ) -> list[RelayRecord]:
        pending = [
            r
            for r in self.relays.values()
            if r.status is RelayStatus.PENDING
            and self.due_at[r.id] <= now
            and (
                to_lawyers
                if r.direction is Direction.TO_LAWYER
                else self.cases.cases[r.case_id].channel in user_channels
            )
        ]
        return pending[:limit]

    async def sent(self, relay_id: int, now: dt.datetime) -> None:
        relay = self.relays[relay_id]
        self.relays[relay_id] = replace(relay, status=RelayStatus.SENT, delivery=relay.delivery or DeliveryState.SENT)
        self.claimed.discard(relay_id)

    async def retry_at(self, relay_id: int, moment: dt.datetime) -> None:
        self.due_at[relay_id] = moment
        self.claimed.discard(relay_id)

    async def failed(self, relay_id: int) -> None:
        self.relays[relay_id] = replace(self.relays[relay_id], status=RelayStatus.FAILED, delivery=DeliveryState.FAILED)
        self.claimed.discard(relay_id)

    async def map_message(self, case_id: int, chat_id: int, message_id: str, now: dt.datetime) -> None:
        self.messages[(chat_id, message_id)] = case_id

    async def case_of_message(self, chat_id: int, message_id: str) -> int | None:
        return self.messages.get((chat_id, message_id))
