"""The dialogue's steps that reach past the answers: topics, the lawyer handoff, language, deleting data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.content.render import find_city
from bot.core.answers import Answers
from bot.core.messages import Outcome, Reply, Turn
from bot.core.ports import (
    ContactRecord,
    ContentCatalog,
    ConversationStore,
    Handoff,
    HandoffOutcome,
    HandoffReason,
    LawyerAvailability,
)
from bot.core.state import DialogueState
from bot.languages import Language, named_in

FAILURES_BEFORE_LAWYER = 2
# Rendered topic answers kept (see `Actions.topic`); past this many the cache starts again, so lawyer notes
# of days gone by do not pile up.
RENDERED_TOPICS_KEPT = 1024


@dataclass(frozen=True, slots=True)
class Asked:
    """One message being answered: who wrote it, in which language, and their dialogue state."""

    contact: ContactRecord
    answers: Answers
    state: DialogueState
    text: str = ""
    message_id: int | None = None  # the stored inbound message (a relay to the lawyer is keyed by it)

    @property
    def language(self) -> Language:
        return self.answers.language


class Actions:
    def __init__(
        self,
        *,
        store: ConversationStore,
        handoff: Handoff,
        catalog: ContentCatalog,
        answers_in: Callable[[Language], Answers],
        retention_days: int,
        audit_retention_days: int,
        availability: LawyerAvailability | None = None,
    ) -> None:
        self.store = store
        self.handoff = handoff
        self.catalog = catalog
        self.answers_in = answers_in
        self.retention_days = retention_days
        self.audit_retention_days = audit_retention_days
        self.availability = availability
        self._rendered: dict[tuple[str, Language, str | None, str | None], tuple[Reply, ...]] = {}

    async def topic(self, asked: Asked, topic_id: str, *, by_text: bool = False) -> Turn:
        """A topic's answer; an urgent topic leads with what to do now and offers a lawyer at once."""
        entry = self.catalog.topics[topic_id]
        answers, language = asked.answers, asked.language
        asked.state.topic = topic_id  # a lawyer asked for next sees what the person last read about
        if not self.catalog.is_urgent(topic_id):
            city = find_city(asked.text, self.catalog.directory) if by_text else None
            note = await self.availability.sentence(language) if self.availability else None
            return Turn(language, self._rendered_topic(answers, topic_id, city, note), topic_id, topic=topic_id)
        handoff = await self.handoff.request(asked.contact, language, topic=topic_id, urgent=True, reason="urgent")
        await_confirmation(asked.state, handoff)
        replies = (*answers.emergency(), *answers.topic(entry), *handoff.replies)
        return Turn(language, replies, topic_id, topic=topic_id, handoff=handoff.case_id)

    def _rendered_topic(self, answers: Answers, topic_id: str, city: str | None, note: str | None) -> tuple[Reply, ...]:
        """A topic's answer rendered once per (topic, language, city, lawyer note) and reused.

        `Answers.topic` is a function of exactly these: the catalog (loaded once, frozen; the review date is
        part of its entry) and the UI strings of the language (`answers_in` builds every `Answers` of this
        process from the same catalog and translator). What changes with time, the lawyer note, is in the key.
        """
        key = (topic_id, answers.language, city, note)
        replies = self._rendered.get(key)
        if replies is None:
            if len(self._rendered) >= RENDERED_TOPICS_KEPT:
                self._rendered.clear()
            replies = self._rendered[key] = tuple(answers.topic(self.catalog.topics[topic_id], city, lawyer_note=note))
        return replies

    async def offer_lawyer(self, asked: Asked, reason: HandoffReason) -> HandoffOutcome:
        topic = asked.state.topic
        topic = topic if topic is not None and self.catalog.is_topic(topic) else None
        urgent = topic is not None and self.catalog.is_urgent(topic)
        outcome = await self.handoff.request(asked.contact, asked.language, topic=topic, urgent=urgent, reason=reason)
        await_confirmation(asked.state, outcome)
        return outcome

    async def request_lawyer(self, asked: Asked) -> Turn:
        outcome = await self.offer_lawyer(asked, "asked")
        return Turn(asked.language, outcome.replies, "request_lawyer", handoff=outcome.case_id)

    async def not_understood(self, asked: Asked) -> Turn:
        answers, state = asked.answers, asked.state
        if state.failures >= FAILURES_BEFORE_LAWYER:
            state.failures = 0  # offer a lawyer once per run of misunderstandings, not on every message
            outcome = await self.offer_lawyer(asked, "not_understood")
            replies = (answers.still_not_understood(), *outcome.replies)
            return Turn(asked.language, replies, handoff=outcome.case_id)
        return Turn(asked.language, (answers.not_understood(),))

    async def change_language(self, asked: Asked) -> Turn:
        wanted = named_in(asked.text)
        if len(wanted) == 1:
            return await self.set_language(asked.contact, wanted[0])
        return Turn(asked.language, (asked.answers.which_language(),), "change_language")

    async def set_language(self, contact: ContactRecord, language: Language) -> Turn:
        await self.store.set_language(contact.id, language, chosen=True)
        return Turn(language, (self.answers_in(language).language_set(),), "change_language")

    @staticmethod
    def ask_delete(asked: Asked) -> Turn:
        asked.state.pending = "delete"
        return Turn(asked.language, (asked.answers.confirm_delete(),), "delete_my_data")

    async def delete(self, asked: Asked) -> Turn:
        await self.store.delete_contact(asked.contact.id)
        return Turn(asked.language, (asked.answers.deleted(),), "delete_my_data", outcome=Outcome.DELETED)


def await_confirmation(state: DialogueState, outcome: HandoffOutcome) -> None:
    """The handoff asked a yes/no question: a typed "yes" or "no" next answers it."""
    if outcome.confirm is not None:
        state.pending = "handoff"
        state.confirm = outcome.confirm


def handoff_turn(asked: Asked, outcome: HandoffOutcome) -> Turn:
    await_confirmation(asked.state, outcome)
    return Turn(asked.language, outcome.replies, "handoff", handoff=outcome.case_id)


def reply_turn(asked: Asked, reply: Reply, intent: str) -> Turn:
    return Turn(asked.language, (reply,), intent)
