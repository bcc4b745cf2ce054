"""The case queue as the core sees it (the `Handoff` port): consent, opening a case, status, relay, rating."""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import Clock
from bot.core import payloads
from bot.core.answers import Answers
from bot.core.messages import Reply
from bot.core.numbers import parse_number
from bot.core.ports import ContactRecord, ContentCatalog, HandoffOutcome, HandoffReason
from bot.errors import RecordChanged
from bot.handoff import notices
from bot.handoff.announce import Announcer
from bot.handoff.cards import person_words, quote
from bot.handoff.contacts import LegalAidContactsHandoff
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore, LawyerStore
from bot.hours import WorkingHours
from bot.i18n import Translator
from bot.languages import Language
from bot.records.cases import CITIES, CaseRecord, CaseStatus, NewCase, Reason

log = logging.getLogger(__name__)

REASONS: dict[HandoffReason, Reason] = {
    "asked": Reason.ASKED,
    "urgent": Reason.URGENT,
    "not_understood": Reason.NOT_UNDERSTOOD,
}
RATING_WINDOW = dt.timedelta(days=7)  # a lone "4" this long after closing is still read as a rating
CAP_PERIOD = dt.timedelta(days=1)  # the cap on case openings counts this far back


class HandoffQueue:
    """Implements the core's `Handoff` port on the durable case queue."""

    def __init__(
        self,
        *,
        cases: CaseStore,
        lawyers: LawyerStore,
        outbox: Outbox,
        announcer: Announcer,
        catalog: ContentCatalog,
        translator: Translator,
        hours: WorkingHours,
        summary_messages: int,
        clock: Clock,
        max_cases_per_day: int = 3,
    ) -> None:
        self._cases = cases
        self._lawyers = lawyers
        self._outbox = outbox
        self._announcer = announcer
        self._catalog = catalog
        self._translator = translator
        self._hours = hours
        self._summary_messages = summary_messages
        self._max_cases_per_day = max_cases_per_day  # 0: no cap
        self._clock = clock
        self._without_lawyers = LegalAidContactsHandoff(catalog, translator)

    def _answers(self, language: Language) -> Answers:
        return Answers.translated(self._catalog, self._translator, language)

    # --- the Handoff port ------------------------------------------------------------------------------
    async def request(
        self,
        contact: ContactRecord,
        language: Language,
        *,
        topic: str | None,
        urgent: bool,
        reason: HandoffReason = "asked",
    ) -> HandoffOutcome:
        case = await self._cases.open_case_of(contact.id)
        if case is not None:
            return await self._status(case, language)
        if not await self._lawyers.active():
            return await self._without_lawyers.request(contact, language, topic=topic, urgent=urgent)
        _ = self._answers(language)._
        options = notices.consent_options(_, topic, REASONS[reason])
        question = Reply(notices.consent_question(_), options)
        return HandoffOutcome((question,), confirm=(options[0].payload, options[1].payload))

    async def choose(self, contact: ContactRecord, language: Language, payload: str) -> HandoffOutcome:
        parsed = payloads.parse(payload)
        answers = self._answers(language)
        action, args = (parsed.args[0], parsed.args[1:]) if parsed.args else ("", ())
        if action == notices.CONSENT and len(args) == 2:
            return await self._open(contact, language, topic=args[0], reason=args[1])
        if action == notices.CITY and len(args) == 2:
            return await self._city(contact, language, parse_number(args[0]), args[1])
        if action == notices.RATE and len(args) == 2:
            case_id, rating = parse_number(args[0]), parse_number(args[1])
            if case_id is not None and rating is not None:
                return await self._rate(contact, language, case_id, rating)
        if action == notices.DECLINE:
            return HandoffOutcome((answers.menu(notices.declined(answers._)),))
        return HandoffOutcome((answers.menu(),))

    async def route(
        self,
        contact: ContactRecord,
        language: Language,
        text: str,
        attachment: str | None,
        *,
        message_id: int | None = None,
    ) -> HandoffOutcome | None:
        case = await self._cases.open_case_of(contact.id)
        if case is not None and case.status is CaseStatus.ASSIGNED and case.lawyer_id is not None:
            if text:  # a caption goes, its photo cannot; once per message, however often it is decided
                await self._outbox.to_lawyer(case, case.lawyer_id, text, source_message_id=message_id)
            if attachment or not text:
                return HandoffOutcome((Reply(notices.text_only(self._answers(language)._)),), str(case.id))
            return HandoffOutcome((), str(case.id))  # like a chat with a person: no echo from Pana
        if case is None and text.strip() in {str(r) for r in notices.RATINGS}:
            closed = await self._cases.latest_closed(contact.id, self._clock() - RATING_WINDOW)
            if closed is not None and closed.rating is None:
                return await self._rate(contact, language, closed.id, int(text.strip()))
        return None

    # --- steps -----------------------------------------------------------------------------------------
    async def _open(self, contact: ContactRecord, language: Language, *, topic: str, reason: str) -> HandoffOutcome:
        existing = await self._cases.open_case_of(contact.id)
        if existing is not None:
            return await self._status(existing, language)
        if not await self._lawyers.active():
            return await self._without_lawyers.request(contact, language, topic=None, urgent=False)
        if await self._over_daily_cap(contact):
            return HandoffOutcome(self._capped(language))
        known_topic = topic if self._catalog.is_topic(topic) else None
        # Urgency comes from the content, not from the option's text (a client could change that).
        urgent = known_topic is not None and self._catalog.is_urgent(known_topic)
        kind = Reason(reason) if reason in {r.value for r in Reason} else Reason.ASKED
        texts = await self._cases.recent_user_texts(contact.id, self._summary_messages)
        new = NewCase(contact.id, language, known_topic, urgent, kind, quote(person_words(texts)))
        case = await self._cases.open(new, self._clock())
        if case is None:  # a second tap raced the first: the first one opened it
            existing = await self._cases.open_case_of(contact.id)
            if existing is None:
                raise RecordChanged(f"the open case of contact {contact.id} vanished")
            return await self._status(existing, language)
        log.info("Case %d opened (%s, urgent=%s)", case.id, case.channel, case.urgent)
        await self._announcer.announce_new(case)
        return HandoffOutcome(await self._opened(case, language), str(case.id))

    async def _over_daily_cap(self, contact: ContactRecord) -> bool:
        """One person opening case after case (a script, or many accounts' worth) must not flood the lawyers."""
        if self._max_cases_per_day <= 0:
            return False
        opened = await self._cases.opened_since(contact.id, self._clock() - CAP_PERIOD)
        if opened < self._max_cases_per_day:
            return False
        log.info("Contact %d reached the daily cap of %d cases", contact.id, self._max_cases_per_day)
        return True

    def _capped(self, language: Language) -> tuple[Reply, ...]:
        """No new case today; what helps now instead, promising nothing."""
        answers = self._answers(language)
        text = answers._(
            "You have asked for a lawyer several times today, so I cannot open another request now. "
            "Please try again tomorrow."
        )
        return (Reply(text), *answers.emergency(), answers.menu())

    async def _opened(self, case: CaseRecord, language: Language) -> tuple[Reply, ...]:
        answers = self._answers(language)
        _ = answers._
        now = self._clock()
        position = await self._cases.position(case)
        replies = [Reply(f"{notices.opened(_, case.id, position)}\n\n{notices.hours_line(_, self._hours, now)}")]
        if case.urgent:  # nothing more to answer now: what helps at once, then the menu
            if not self._hours.is_open(now):
                replies += answers.emergency()
            replies.append(answers.menu(notices.while_waiting(_)))
        else:  # the case is open and announced already: the city is an optional extra, one tap or skipped
            replies.append(Reply(notices.city_question(_), notices.city_options(_, case.id)))
        return tuple(replies)

    async def _status(self, case: CaseRecord, language: Language) -> HandoffOutcome:
        answers = self._answers(language)
        _ = answers._
        if case.status is CaseStatus.ASSIGNED:
            return HandoffOutcome((Reply(notices.assigned_status(_, case.id)),), str(case.id))
        position = await self._cases.position(case)
        text = f"{notices.waiting_status(_, case.id, position)}\n\n{notices.hours_line(_, self._hours, self._clock())}"
        return HandoffOutcome((answers.menu(text),), str(case.id))

    async def _city(self, contact: ContactRecord, language: Language, case_id: int | None, city: str) -> HandoffOutcome:
        """The answer to the optional city question, whose buttons stay on screen after the case is closed."""
        answers = self._answers(language)
        case = await self._cases.open_case_of(contact.id)
        # The store checks again that the case is open: it may be closed between that read and this write.
        if (
            case is None
            or case.id != case_id
            or (city in CITIES and not await self._cases.set_city(case.id, contact.id, city))
        ):  # closed, anonymised or deleted: nothing is stored, and nobody is told to wait for a lawyer
            return HandoffOutcome((answers.menu(notices.city_too_late(answers._)),))
        return HandoffOutcome((answers.menu(notices.city_noted(answers._)),))

    async def _rate(self, contact: ContactRecord, language: Language, case_id: int, rating: int) -> HandoffOutcome:
        answers = self._answers(language)
        if rating in notices.RATINGS and await self._cases.rate(case_id, contact.id, rating, self._clock()):
            return HandoffOutcome((answers.menu(notices.thanks_for_rating(answers._)),), str(case_id))
        return HandoffOutcome((answers.menu(),))
