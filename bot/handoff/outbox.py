"""Relays between people and lawyers: stored first, then delivered, retried until delivered or given up.

A relay is sent by whichever process can reach its recipient: the one with the Telegram bot for
lawyers, the one with the user's channel for users (a `pana chat` terminal delivers to its own
console user). What cannot be sent now stays pending in the database and the worker tries again.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.backoff import Backoff
from bot.clock import Clock
from bot.core.messages import Option, Reply
from bot.core.ports import ContactRecord
from bot.faults import crash_point
from bot.handoff import notices
from bot.handoff.ports import CaseStore, LawyerNotifier, LawyerStore, RelayStore, UserSender
from bot.i18n import Translator, bound
from bot.records.cases import CaseRecord, CaseStatus, Direction, LawyerRecord, RelayKind, RelayRecord

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # with the backoff below, about five hours of trying
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(hours=1)


RETRIES = Backoff(FIRST_RETRY.total_seconds(), LONGEST_WAIT.total_seconds())


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=RETRIES.delay(attempts))


class Outbox:
    def __init__(
        self,
        *,
        cases: CaseStore,
        lawyers: LawyerStore,
        relays: RelayStore,
        translator: Translator,
        show_lawyer_name: bool,
        clock: Clock,
    ) -> None:
        self._cases = cases
        self._lawyers = lawyers
        self._relays = relays
        self._translator = translator
        self._show_lawyer_name = show_lawyer_name
        self._clock = clock
        self._senders: dict[str, UserSender] = {}
        self.notifier: LawyerNotifier | None = None

    # --- what each process can reach -------------------------------------------------------------------
    def register_sender(self, channel: str, sender: UserSender) -> None:
        """Let this process deliver to users of a channel ("telegram", "whatsapp", "console")."""
        self._senders[channel] = sender

    def attach_lawyers(self, notifier: LawyerNotifier) -> None:
        """Let this process write to lawyers (it runs the Telegram bot)."""
        self.notifier = notifier

    def can_reach(self, relay: RelayRecord, case: CaseRecord) -> bool:
        if relay.direction is Direction.TO_LAWYER:
            return self.notifier is not None
        return case.channel in self._senders

    # --- posting ---------------------------------------------------------------------------------------
    async def to_user(self, case: CaseRecord, kind: RelayKind, text: str, *, lawyer_id: int | None = None) -> bool:
        """Store a message for the person, then try to deliver it now; True when the channel accepted it."""
        relay = await self._relays.add(case.id, Direction.TO_USER, kind, text, self._clock(), lawyer_id=lawyer_id)
        return await self.deliver(relay, case)

    async def to_lawyer(
        self, case: CaseRecord, lawyer_id: int, text: str, *, source_message_id: int | None = None
    ) -> bool:
        """Store the person's message for the lawyer (once per `source_message_id`), then try to deliver it."""
        relay = await self._relays.add(
            case.id,
            Direction.TO_LAWYER,
            RelayKind.MESSAGE,
            text,
            self._clock(),
            lawyer_id=lawyer_id,
            source_message_id=source_message_id,
        )
        crash_point("relay_stored")
        return await self.deliver(relay, case)

    async def tell_lawyer(self, lawyer: LawyerRecord, reply: Reply, case_id: int | None = None) -> bool:
        """Write to a lawyer now (not stored: Pana's own messages to lawyers can be asked for again)."""
        if lawyer.telegram_id is None:
            return False  # works only on the web console, which shows the case itself
        if self.notifier is None:
            log.warning("No Telegram bot in this process: a message to lawyer %d was not sent", lawyer.id)
            return False
        message_ids = await self.notifier.send(lawyer.telegram_id, reply)
        if case_id is not None:
            await self._map(case_id, lawyer, message_ids)
        return bool(message_ids)

    async def _map(self, case_id: int, lawyer: LawyerRecord, message_ids: tuple[str, ...]) -> None:
        if lawyer.telegram_id is None:
            return
        for message_id in message_ids:
            await self._relays.map_message(case_id, lawyer.telegram_id, message_id, self._clock())

    # --- delivering ------------------------------------------------------------------------------------
    async def deliver_due(self) -> int:
        """Try every pending relay whose time has come and that this process can reach; how many went out."""
        delivered = 0
        due = await self._relays.due(self._clock(), user_channels=self._senders, to_lawyers=self.notifier is not None)
        for relay in due:
            case = await self._cases.get(relay.case_id)
            if case is not None and await self.deliver(relay, case):
                delivered += 1
        return delivered

    async def deliver(self, relay: RelayRecord, case: CaseRecord) -> bool:
        if not self.can_reach(relay, case):
            return False  # another process (or a later start) delivers it
        claimed = await self._relays.claim(relay.id, self._clock())
        if claimed is None:
            return False  # delivered, given up, or being delivered by another process
        try:
            if claimed.direction is Direction.TO_LAWYER:
                delivered = await self._deliver_to_lawyer(claimed, case)
            else:
                delivered = await self._deliver_to_user(claimed, case)
        except Exception:  # a channel failure must not lose the relay: it stays pending and is retried
            log.exception("Relay %d of case %d failed", claimed.id, case.id)
            delivered = False
        if delivered:
            crash_point("relay_sent")
            await self._relays.sent(claimed.id, self._clock())
            return True
        await self._failed_attempt(claimed, case)
        return False

    async def _failed_attempt(self, relay: RelayRecord, case: CaseRecord) -> None:
        if relay.attempts < MAX_ATTEMPTS:
            await self._relays.retry_at(relay.id, self._clock() + backoff(relay.attempts))
            log.warning("Relay %d of case %d not delivered (try %d); will retry", relay.id, case.id, relay.attempts)
            return
        await self._relays.failed(relay.id)
        log.error("Relay %d of case %d given up after %d tries", relay.id, case.id, relay.attempts)
        if relay.direction is Direction.TO_USER and relay.kind is RelayKind.MESSAGE and relay.lawyer_id is not None:
            lawyer = await self._lawyers.get(relay.lawyer_id)
            if lawyer is not None:
                text = self._translator.gettext(
                    "Pana could not deliver your message to the person in case #{case}. They may have blocked "
                    "the bot or deleted their data.",
                    lawyer.ui_language,
                ).format(case=case.id)
                await self.tell_lawyer(lawyer, Reply(text), case.id)

    async def _deliver_to_lawyer(self, relay: RelayRecord, case: CaseRecord) -> bool:
        if self.notifier is None:
            return False
        # The person wrote to whoever held the case; if it changed hands, the new holder gets it.
        holder_id = case.lawyer_id if case.status is CaseStatus.ASSIGNED else relay.lawyer_id
        lawyer = await self._lawyers.get(holder_id) if holder_id is not None else None
        if lawyer is None or not lawyer.active:
            return False
        if lawyer.telegram_id is None:
            return True  # a web-only lawyer: the console reads it from the record, live
        message_ids = await self.notifier.send(lawyer.telegram_id, Reply(f"#{case.id}: {relay.text}"))
        await self._map(case.id, lawyer, message_ids)
        return bool(message_ids)

    async def _deliver_to_user(self, relay: RelayRecord, case: CaseRecord) -> bool:
        sender = self._senders[case.channel]
        _ = bound(self._translator, case.language)
        options: tuple[Option, ...] = ()
        text = relay.text
        if relay.kind is RelayKind.MESSAGE:
            name = None
            if self._show_lawyer_name and relay.lawyer_id is not None:
                lawyer = await self._lawyers.get(relay.lawyer_id)
                name = lawyer.name if lawyer else None
            text = f"{notices.lawyer_label(_, case.id, name)}\n{relay.text}"
        elif relay.kind is RelayKind.CLOSED:
            text, options = notices.closed(_, case.id)
        contact = ContactRecord(
            id=case.contact_id,
            channel=case.channel,
            platform_id=case.platform_id,
            language=case.language,
            language_chosen=False,
        )
        return await sender.send(contact, text, case.language, options, relay_id=relay.id)
