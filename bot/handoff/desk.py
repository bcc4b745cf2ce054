"""The lawyers' side: their commands and their messages to the people whose cases they hold.

Channel-neutral like the core: the Telegram router turns a lawyer's update into a `LawyerInput`, and
everything the desk says goes out through the `Outbox` (which remembers which message belongs to
which case, so a lawyer's reply to it reaches the right person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from bot.clock import Clock
from bot.core.commands import parse_command
from bot.core.messages import Reply
from bot.core.numbers import parse_number
from bot.errors import RecordChanged
from bot.handoff import notices
from bot.handoff.announce import Announcer
from bot.handoff.cards import CaseCards, person_words
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore, LawyerStore, RelayStore
from bot.i18n import N_, Translator, bound
from bot.records.cases import CaseRecord, CaseStatus, LawyerRecord, RelayKind

log = logging.getLogger(__name__)

QUEUE_BUTTONS = 10  # "Take" buttons under /queue; the rest are taken with /take N
SINCE_OPENED = 10  # the person's messages written while the case waited, shown when it is taken


@dataclass(frozen=True, slots=True)
class LawyerInput:
    text: str
    reply_to: str | None = None  # the message in the lawyer's chat they answered, if any


class TakeResult(Enum):
    TAKEN = "taken"
    ALREADY_YOURS = "already_yours"
    TAKEN_BY_OTHER = "taken_by_other"
    GONE = "gone"  # no such case, or closed
    UNREACHABLE = "unreachable"  # taken, but the lawyer cannot be written to privately: given back


TAKE_ANSWERS = {  # the short answer on a pressed "Take" button
    TakeResult.TAKEN: N_("Case #{case} is yours: the details are in our private chat."),
    TakeResult.ALREADY_YOURS: N_("Case #{case} is already yours."),
    TakeResult.TAKEN_BY_OTHER: N_("Case #{case} has already been taken by another lawyer."),
    TakeResult.GONE: N_("Case #{case} does not exist or is closed."),
    TakeResult.UNREACHABLE: N_("I cannot write to you privately. Open a chat with me, press Start, then try again."),
}


def case_number(text: str) -> tuple[int | None, str]:
    """The case number a command starts with, and what follows it."""
    first, _, rest = text.partition(" ")
    first = first.lstrip("#")
    number = parse_number(first)
    return (number, rest.strip()) if number is not None else (None, text)


class LawyerDesk:
    def __init__(
        self,
        *,
        cases: CaseStore,
        lawyers: LawyerStore,
        relays: RelayStore,
        outbox: Outbox,
        announcer: Announcer,
        cards: CaseCards,
        translator: Translator,
        show_lawyer_name: bool,
        clock: Clock,
    ) -> None:
        self._cases = cases
        self._lawyers = lawyers
        self._relays = relays
        self._outbox = outbox
        self._announcer = announcer
        self._cards = cards
        self._translator = translator
        self._show_lawyer_name = show_lawyer_name
        self._clock = clock

    async def remove_lawyer(self, telegram_id: int) -> tuple[LawyerRecord, int] | None:
        """Deactivate a lawyer (an administrator's act); each person whose case they held is told.

        The notice is stored first: a process that cannot reach the person (`pana lawyers remove`) leaves it
        to the running server, which also announces the cases again at its next sweep.
        """
        lawyer = await self._lawyers.active_by_telegram_id(telegram_id)
        held = await self._cases.assigned_to(lawyer.id) if lawyer is not None else []
        removed = await self._lawyers.deactivate(telegram_id)
        for case in held:
            _ = bound(self._translator, case.language)
            await self._outbox.to_user(case, RelayKind.NOTICE, notices.back_in_queue(_, case.id))
        return removed

    async def lawyer(self, telegram_id: int) -> LawyerRecord | None:
        """The active lawyer with this Telegram id; None for everyone else (they are users)."""
        return await self._lawyers.active_by_telegram_id(telegram_id)

    def _(self, message: str, lawyer: LawyerRecord) -> str:
        return self._translator.gettext(message, lawyer.ui_language)

    async def _say(self, lawyer: LawyerRecord, text: str, case_id: int | None = None) -> None:
        await self._outbox.tell_lawyer(lawyer, Reply(text), case_id)

    # --- entry points ----------------------------------------------------------------------------------
    async def handle(self, lawyer: LawyerRecord, message: LawyerInput) -> None:
        command = parse_command(message.text.strip())
        if command is None:
            await self._reply_to_person(lawyer, message)
            return
        name, rest = command
        number, rest = case_number(rest)
        if name == "queue":
            await self._queue(lawyer)
        elif name == "mine":
            await self._mine(lawyer)
        elif name in ("take", "release", "close", "note") and number is not None:
            if name == "take":
                await self.take(lawyer, number)
            elif name == "release":
                await self._release(lawyer, number)
            elif name == "close":
                await self._close(lawyer, number, rest)
            else:
                await self._note(lawyer, number, rest)
        else:
            await self._say(lawyer, self._cards.help("N", lawyer.ui_language))

    async def edited(self, lawyer: LawyerRecord) -> None:
        """An edit cannot be taken back from the person's chat: say so instead of relaying it twice."""
        await self._say(lawyer, self._("Edits are not passed on. Send a new message instead.", lawyer))

    async def take(self, lawyer: LawyerRecord, case_id: int) -> TakeResult:
        """Claim a waiting case; exactly one of several lawyers trying at once gets it."""
        now = self._clock()
        case = await self._cases.get(case_id)
        if case is None or case.status is CaseStatus.CLOSED:
            await self._cases.audit("lawyer", "take_refused", now, lawyer_id=lawyer.id, case_id=case_id)
            await self._say(lawyer, self.take_answer(lawyer, case_id, TakeResult.GONE))
            return TakeResult.GONE
        if not await self._cases.claim(case_id, lawyer.id, now):
            if case.lawyer_id == lawyer.id:  # "/take N" on one's own case: current again, and its card again
                await self._lawyers.set_current_case(lawyer.id, case_id)
                await self._say(lawyer, self.take_answer(lawyer, case_id, TakeResult.ALREADY_YOURS), case_id)
                await self._send_card(lawyer, case)  # also what restores it after a crash before the first card
                return TakeResult.ALREADY_YOURS
            await self._cases.audit("lawyer", "take_refused", now, lawyer_id=lawyer.id, case_id=case_id)
            await self._say(lawyer, self.take_answer(lawyer, case_id, TakeResult.TAKEN_BY_OTHER))
            return TakeResult.TAKEN_BY_OTHER
        log.info("Case %d taken by lawyer %d", case_id, lawyer.id)
        taken = await self._cases.get(case_id)
        if taken is None:
            raise RecordChanged(f"case {case_id} vanished right after it was taken")
        if not await self._send_card(lawyer, taken):
            # Pana cannot write to this lawyer privately (they never pressed Start): give the case back.
            await self._cases.release(case_id, lawyer.id, self._clock())
            await self._announcer.announce_new(taken)
            return TakeResult.UNREACHABLE
        await self._lawyers.set_current_case(lawyer.id, case_id)
        _ = bound(self._translator, taken.language)
        name = lawyer.name if self._show_lawyer_name else None
        await self._outbox.to_user(taken, RelayKind.NOTICE, notices.taken(_, case_id, name), lawyer_id=lawyer.id)
        return TakeResult.TAKEN

    async def _send_card(self, lawyer: LawyerRecord, case: CaseRecord) -> bool:
        """The whole case, built from the record each time (so it is never lost with a process)."""
        card = self._cards.card(
            case,
            lawyer.ui_language,
            since_opened=person_words(
                await self._cases.recent_user_texts(case.contact_id, SINCE_OPENED, since=case.created_at)
            ),
            notes=await self._cases.notes(case.id),
        )
        return await self._outbox.tell_lawyer(lawyer, Reply(card), case.id)

    def take_answer(self, lawyer: LawyerRecord, case_id: int, result: TakeResult) -> str:
        """What taking a case came to: the answer on the pressed "Take" button and to "/take N"."""
        return self._(TAKE_ANSWERS[result], lawyer).format(case=case_id)

    # --- commands --------------------------------------------------------------------------------------
    async def _queue(self, lawyer: LawyerRecord) -> None:
        await self._cases.audit("lawyer", "viewed_queue", self._clock(), lawyer_id=lawyer.id)
        waiting = await self._cases.waiting()
        if not waiting:
            await self._say(lawyer, self._("No cases are waiting.", lawyer))
            return
        lines = [self._cards.line(case, lawyer.ui_language) for case in waiting]
        options = tuple(self._cards.take_option(case, lawyer.ui_language) for case in waiting[:QUEUE_BUTTONS])
        text = self._("Waiting cases (urgent first, then the oldest):", lawyer) + "\n\n" + "\n".join(lines)
        await self._outbox.tell_lawyer(lawyer, Reply(text, options))

    async def _mine(self, lawyer: LawyerRecord) -> None:
        await self._cases.audit("lawyer", "viewed_own", self._clock(), lawyer_id=lawyer.id)
        held = await self._cases.assigned_to(lawyer.id)
        if not held:
            await self._say(lawyer, self._("You hold no cases. /queue lists the waiting ones.", lawyer))
            return
        current = self._("(your plain messages go here)", lawyer)
        lines = [
            f"{self._cards.line(case, lawyer.ui_language)}{' ' + current if case.id == lawyer.current_case_id else ''}"
            for case in held
        ]
        await self._say(lawyer, self._("Your cases:", lawyer) + "\n\n" + "\n".join(lines))

    async def _release(self, lawyer: LawyerRecord, case_id: int) -> None:
        if not await self.release(lawyer, case_id):
            await self._not_yours(lawyer, case_id)
            return
        await self._say(lawyer, self._("Case #{case} is back in the queue.", lawyer).format(case=case_id))

    async def _close(self, lawyer: LawyerRecord, case_id: int, outcome: str) -> None:
        if not await self.close(lawyer, case_id, outcome):
            await self._not_yours(lawyer, case_id)
            return
        await self._say(lawyer, self._("Case #{case} is closed. Thank you.", lawyer).format(case=case_id))

    # --- the same acts from the web console (bot/console/): answered on the page, not in Telegram ---------
    async def claim(self, lawyer: LawyerRecord, case_id: int) -> TakeResult:
        """Take a waiting case from the web: exactly one of several lawyers trying at once gets it."""
        now = self._clock()
        case = await self._cases.get(case_id)
        if case is None or case.status is CaseStatus.CLOSED:
            await self._cases.audit("lawyer", "take_refused", now, lawyer_id=lawyer.id, case_id=case_id)
            return TakeResult.GONE
        if not await self._cases.claim(case_id, lawyer.id, now):
            if case.lawyer_id == lawyer.id:
                return TakeResult.ALREADY_YOURS
            await self._cases.audit("lawyer", "take_refused", now, lawyer_id=lawyer.id, case_id=case_id)
            return TakeResult.TAKEN_BY_OTHER
        log.info("Case %d taken by lawyer %d on the web", case_id, lawyer.id)
        _ = bound(self._translator, case.language)
        name = lawyer.name if self._show_lawyer_name else None
        await self._outbox.to_user(case, RelayKind.NOTICE, notices.taken(_, case_id, name), lawyer_id=lawyer.id)
        return TakeResult.TAKEN

    async def handed_over(self, case_id: int, lawyer: LawyerRecord) -> None:
        """A supervisor gave the case to this lawyer: the person learns who answers them now."""
        case = await self._cases.get(case_id)
        if case is None:
            return
        _ = bound(self._translator, case.language)
        name = lawyer.name if self._show_lawyer_name else None
        await self._outbox.to_user(case, RelayKind.NOTICE, notices.taken(_, case_id, name), lawyer_id=lawyer.id)

    async def release(self, lawyer: LawyerRecord, case_id: int) -> bool:
        """Give a held case back to the queue; the person is told and the case announced again."""
        if not await self._cases.release(case_id, lawyer.id, self._clock()):
            return False
        await self._forget_current(lawyer, case_id)
        case = await self._cases.get(case_id)
        if case is not None:
            _ = bound(self._translator, case.language)
            await self._outbox.to_user(case, RelayKind.NOTICE, notices.back_in_queue(_, case_id))
            await self._announcer.announce_new(case)
        return True

    async def close(self, lawyer: LawyerRecord, case_id: int, outcome: str) -> bool:
        """Close a held case with its outcome; the person is told and asked for a rating."""
        if not await self._cases.close(case_id, lawyer.id, outcome, self._clock()):
            return False
        log.info("Case %d closed by lawyer %d", case_id, lawyer.id)
        await self._forget_current(lawyer, case_id)
        case = await self._cases.get(case_id)
        if case is not None:
            text, _options = notices.closed(bound(self._translator, case.language), case_id)
            await self._outbox.to_user(case, RelayKind.CLOSED, text, lawyer_id=lawyer.id)
        return True

    async def add_note(self, lawyer: LawyerRecord, case_id: int, text: str) -> bool:
        return bool(text.strip()) and await self._cases.add_note(case_id, lawyer.id, text.strip(), self._clock())

    async def answer(self, lawyer: LawyerRecord, case_id: int, text: str) -> bool | None:
        """A reply written on the web, through the same outbox as Telegram answers.

        None when the case is not this lawyer's (or the text is empty); otherwise whether it went out now
        (False: stored, retried by the worker).
        """
        case = await self._cases.get(case_id)
        if case is None or case.status is not CaseStatus.ASSIGNED or case.lawyer_id != lawyer.id or not text.strip():
            return None
        await self._cases.lawyer_acted(case_id, lawyer.id, "replied", self._clock())
        return await self._outbox.to_user(case, RelayKind.MESSAGE, text.strip(), lawyer_id=lawyer.id)

    async def _note(self, lawyer: LawyerRecord, case_id: int, text: str) -> None:
        if not text:
            await self._say(lawyer, self._cards.help(case_id, lawyer.ui_language))
            return
        if not await self._cases.add_note(case_id, lawyer.id, text, self._clock()):
            await self._not_yours(lawyer, case_id)  # only the lawyer holding an open case writes its notes
            return
        reply = self._("Note added to case #{case}. Only lawyers see it.", lawyer).format(case=case_id)
        await self._say(lawyer, reply, case_id)

    # --- messages for the person -----------------------------------------------------------------------
    async def _reply_to_person(self, lawyer: LawyerRecord, message: LawyerInput) -> None:
        if message.reply_to is not None and lawyer.telegram_id is not None:
            case_id = await self._relays.case_of_message(lawyer.telegram_id, message.reply_to)
            if case_id is None:  # never guess: a reply to an unrelated message must not reach a person
                text = self._(
                    "That message does not belong to a case. Reply to a message of your case, or write without "
                    "replying.",
                    lawyer,
                )
                await self._say(lawyer, text)
                return
        else:
            case_id = lawyer.current_case_id
        if case_id is None:
            text = self._(
                "You have no current case. Reply to a message of your case, or /take N first. "
                "/queue lists waiting cases.",
                lawyer,
            )
            await self._say(lawyer, text)
            return
        case = await self._cases.get(case_id)
        if case is None or case.status is not CaseStatus.ASSIGNED or case.lawyer_id != lawyer.id:
            await self._not_yours(lawyer, case_id)
            return
        if not message.text.strip():
            await self._say(lawyer, self._("Only text messages can be passed on.", lawyer), case_id)
            return
        await self._cases.lawyer_acted(case_id, lawyer.id, "replied", self._clock())
        if case_id != lawyer.current_case_id:
            await self._lawyers.set_current_case(lawyer.id, case_id)  # the case they answered is now current
        if not await self._outbox.to_user(case, RelayKind.MESSAGE, message.text.strip(), lawyer_id=lawyer.id):
            text = self._("Not delivered to the person in case #{case} yet; Pana keeps trying.", lawyer)
            await self._say(lawyer, text.format(case=case_id), case_id)

    # --- helpers ---------------------------------------------------------------------------------------
    async def _not_yours(self, lawyer: LawyerRecord, case_id: int) -> None:
        text = self._("Case #{case} is not yours (any more). /mine lists your cases.", lawyer).format(case=case_id)
        await self._say(lawyer, text)

    async def _forget_current(self, lawyer: LawyerRecord, case_id: int) -> None:
        if lawyer.current_case_id == case_id:
            await self._lawyers.set_current_case(lawyer.id, None)
