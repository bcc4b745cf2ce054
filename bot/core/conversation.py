"""The conversation core: one incoming message in, one Turn (replies and what was understood) out."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass, replace

from bot.clock import Clock, utc_now
from bot.core import payloads
from bot.core.actions import Actions, Asked, handoff_turn
from bot.core.answers import LANGUAGE_OPTIONS, Answers
from bot.core.arrival import lift_arrival
from bot.core.dispatch import answer_intent, answer_payload
from bot.core.flood import FloodGuard
from bot.core.interrupted import note_stored
from bot.core.language import Detection, LanguageDetector, choose_language
from bot.core.messages import IncomingMessage, Outcome, Reply, Turn
from bot.core.policy import Action, Thresholds, decide
from bot.core.ports import (
    ContactRecord,
    ContentCatalog,
    ConversationStore,
    Handoff,
    IntentClassifier,
    LawyerAvailability,
    StateStore,
    TurnRecord,
)
from bot.core.ratelimit import GlobalRateLimit, TurnLimit
from bot.core.replay import decode_turn, encode_turn
from bot.core.state import DialogueState
from bot.core.urgency import offer_also, urgent_replies
from bot.errors import HeldElsewhere, NluUnavailable, RecordChanged
from bot.faults import crash_point
from bot.i18n import Translator
from bot.languages import DELETE_WORDS, LANGUAGES, NO_WORDS, YES_WORDS, Language, normalise_language_code

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CoreConfig:
    thresholds: Thresholds
    default_language: Language
    max_input_chars: int
    state_ttl_seconds: int
    retention_days: int
    audit_retention_days: int
    flood_limit: int = 10  # messages one user may send per flood window before being asked to slow down
    flood_window_seconds: float = 10.0
    # How long one process holds a message it is handling (renewed with each part sent); a crashed
    # process's hold ends after it, and a redelivery or the recovery sweep answers the message.
    turn_lease_seconds: float = 90.0
    global_turns_per_second: float = 0.0  # free-text turns across everyone before "busy" (0: no limit)


KEPT_CONTROLS = frozenset("\n\t\u200c\u200d")  # newline, tab, zero-width non-joiner, zero-width joiner


def clean_text(text: str, limit: int) -> str:
    """Drop control characters and keep the text within the size we process.

    The zero-width non-joiner and joiner are format characters (Cf) but spelling in Persian/Dari and
    Kurdish (and emoji sequences): they stay.
    """
    kept = "".join(ch for ch in text if ch in KEPT_CONTROLS or not unicodedata.category(ch).startswith("C"))
    return kept.strip()[:limit]


def dialogue_state_key(channel: str, platform_id: str) -> str:
    """Where a person's `DialogueState` is kept in the state store."""
    return f"{channel}:{platform_id}"


def _state_key(contact: ContactRecord) -> str:
    return dialogue_state_key(contact.channel, contact.platform_id)


def _language_unknown(contact: ContactRecord, message: IncomingMessage, detection: Detection) -> bool:
    """A new contact wrote too little to tell their language, and the platform gave no hint (WhatsApp, "hi")."""
    return (
        contact.language is None
        and not contact.language_chosen
        and not message.payload
        and not detection.confident
        and normalise_language_code(message.language_hint) is None
    )


class Conversation:
    """Channel-neutral dialogue logic; every channel adapter calls `handle` (the `Dialogue` port)."""

    def __init__(
        self,
        *,
        classifier: IntentClassifier,
        store: ConversationStore,
        state: StateStore,
        catalog: ContentCatalog,
        handoff: Handoff,
        translator: Translator,
        detector: LanguageDetector,
        config: CoreConfig,
        clock: Clock = utc_now,
        availability: LawyerAvailability | None = None,
        turn_limit: TurnLimit | None = None,
    ) -> None:
        self._classifier = classifier
        self._store = store
        self._state = state
        self._catalog = catalog
        self._handoff = handoff
        self._translator = translator
        self._detector = detector
        self._config = config
        self._clock = clock
        self._flood = FloodGuard(config.flood_limit, config.flood_window_seconds, clock)
        rate = config.global_turns_per_second
        # Given when the limit is shared across processes (Redis); otherwise this process's own bucket.
        self._global: TurnLimit = turn_limit or GlobalRateLimit(rate, max(1.0, 2 * rate), clock)
        self._actions = Actions(
            store=store,
            handoff=handoff,
            catalog=catalog,
            answers_in=self.answers,
            retention_days=config.retention_days,
            audit_retention_days=config.audit_retention_days,
            availability=availability,
        )

    def answers(self, language: Language) -> Answers:
        return Answers.translated(self._catalog, self._translator, language)

    async def handle(self, message: IncomingMessage) -> Turn:
        """Store the message (its own commit, with the person when new), decide, then store the decision (with the
        language learned) in one transaction.

        Raises `HeldElsewhere` (an `InFlight`) when the message is stored and another request or process holds it.
        """
        text = clean_text(message.text, self._config.max_input_chars)
        accepted = await self._store.accept(message, text, lease_until=self._lease_end())
        if accepted.forgotten is not None:
            # A person who deleted their data: a redelivery (their "Done" failed) or a replay must not bring them back.
            gone = accepted.forgotten
            return Turn(gone, (self.answers(gone).deleted(),), "delete_my_data", outcome=Outcome.DELETED)
        contact, message_id = accepted.contact, accepted.message_id
        if contact is None:  # the store breaks its own port: neither forgotten nor a person
            raise RecordChanged("a message was accepted without a person")
        crash_point("after_store")
        if message_id is None:  # the platform delivered this message again
            earlier = await self._redelivered(contact, message.channel_message_id)
            if isinstance(earlier, Turn):
                return earlier
            message_id = earlier  # stored, but the process stopped before deciding: decide now
        try:
            return await self._decide(contact, message, text, message_id)
        except Exception as error:
            note_stored(error, message_id)  # an outage reply for it settles the message (bot/core/outage.py)
            try:
                await self._store.release(message_id)  # a redelivery or the recovery sweep may try again at once
            except Exception as release_error:  # the record is away too: its lease ends by itself
                log.warning("Could not release message %d (%s)", message_id, type(release_error).__name__)
            raise

    async def progress(self, turn: Turn, parts_sent: int) -> None:
        """The first `parts_sent` messages went out: a replay goes on after them; the hold is renewed."""
        if turn.message_id is not None:
            await self._store.mark_sent(turn.message_id, parts_sent, self._lease_end())

    async def unsent(self, turn: Turn) -> None:
        """Sending failed: let go of the message, so a redelivery or the recovery sweep sends it at once."""
        if turn.message_id is not None:
            await self._store.release(turn.message_id)

    async def delivered(self, turn: Turn) -> None:
        """The channel sent the turn's replies (or queued them durably): a redelivery gets no second answer."""
        if turn.message_id is not None:
            await self._store.mark_answered(turn.message_id)

    def _lease_end(self) -> dt.datetime:
        return self._clock() + dt.timedelta(seconds=self._config.turn_lease_seconds)

    async def _decide(self, contact: ContactRecord, message: IncomingMessage, text: str, message_id: int) -> Turn:
        state_key = _state_key(contact)
        state = DialogueState.from_dict(await self._state.get(state_key))
        detection = self._detector.detect(text)
        language = self._language(contact, detection, message.language_hint)
        asked = Asked(contact, self.answers(language), state, text, message_id)
        flooding = self._flood.flooding(state)
        turn = await self._flooded(asked, message) if flooding else await self._respond(asked, message)
        if turn.outcome is Outcome.DELETED:
            await self._state.delete(state_key)
            return turn
        if not flooding and _language_unknown(contact, message, detection):
            turn = self._offer_languages(turn)
        await self._state.set(state_key, state.to_dict(), self._config.state_ttl_seconds)
        turn = replace(turn, message_id=message_id)
        record = TurnRecord(
            intent=turn.intent,
            confidence=turn.confidence,
            language=turn.language,
            replies=[reply.text for reply in turn.replies],
            turn=encode_turn(turn),
            contact_language=language if language != contact.language and not contact.language_chosen else None,
        )
        if not await self._store.record_turn(message_id, contact.id, record):
            # Our hold had lapsed and another process decided it first: its replies stand, ours go nowhere.
            log.warning("Message %d was decided by another process; not sending a second answer", message_id)
            return Turn(turn.language, (), outcome=Outcome.DUPLICATE)
        crash_point("after_record_turn")
        return turn

    async def _redelivered(self, contact: ContactRecord, channel_message_id: str | None) -> Turn | int:
        """A message seen before: nothing if it was answered, its replies again if sending them failed."""
        earlier = await self._store.redelivery(contact.id, channel_message_id) if channel_message_id else None
        if earlier is None or earlier.answered:
            return Turn(contact.language or self._config.default_language, (), outcome=Outcome.DUPLICATE)
        if not await self._store.take(earlier.message_id, self._clock(), self._lease_end()):
            raise HeldElsewhere(f"message {earlier.message_id} is being handled elsewhere")
        if earlier.turn is not None:
            log.info("Message %d came again before its replies were all sent; sending the rest", earlier.message_id)
            return decode_turn(earlier.turn, earlier.message_id, earlier.parts_sent)
        return earlier.message_id

    async def _flooded(self, asked: Asked, message: IncomingMessage) -> Turn:
        """Over the limit: what is meant for the lawyer holding the case is still relayed, the rest slowed."""
        routed = await self._handoff.route(
            asked.contact, asked.language, asked.text, message.attachment, message_id=asked.message_id
        )
        return handoff_turn(asked, routed) if routed is not None else self._slow_down(asked)

    def _slow_down(self, asked: Asked) -> Turn:
        """The message is kept in the record, not answered; the user is asked once per flood to slow down."""
        replies = (asked.answers.slow_down(),) if self._flood.first_note(asked.state) else ()
        return Turn(asked.language, replies, "flood")

    def _language(self, contact: ContactRecord, detection: Detection, hint: str | None) -> Language:
        """The turn's language; one learned for a person who chose none is stored with the decision (`_decide`)."""
        return choose_language(
            detection,
            sticky=contact.language,
            chosen=contact.language_chosen,
            hint=hint,
            default=self._config.default_language,
        )

    def _offer_languages(self, turn: Turn) -> Turn:
        """Add the languages to the last reply, asking in each of them, unless the turn offers them already."""
        if not turn.replies or any(option in LANGUAGE_OPTIONS for reply in turn.replies for option in reply.options):
            return turn
        question = " / ".join(self._translator.gettext("Which language should I use?", code) for code in LANGUAGES)
        last = turn.replies[-1]
        offered = Reply(f"{last.text}\n\n{question}", (*last.options, *LANGUAGE_OPTIONS))
        return replace(turn, replies=(*turn.replies[:-1], offered))

    async def _respond(self, asked: Asked, message: IncomingMessage) -> Turn:
        pending, confirm = asked.state.take_question()
        if message.payload:
            return await answer_payload(self._actions, asked, message.payload, pending)
        word = asked.text.lower().strip(" .!")
        if pending == "delete" and word in YES_WORDS | DELETE_WORDS | NO_WORDS:
            chosen = payloads.DELETE_NO if word in NO_WORDS else payloads.DELETE_YES
            return await answer_payload(self._actions, asked, chosen, pending)
        if pending == "handoff" and confirm and word in YES_WORDS | NO_WORDS:  # consent typed instead of picked
            return await answer_payload(self._actions, asked, confirm[0] if word in YES_WORDS else confirm[1], None)
        # While a lawyer holds the person's case, what they write is for the lawyer, not for the NLU.
        routed = await self._handoff.route(
            asked.contact, asked.language, asked.text, message.attachment, message_id=asked.message_id
        )
        if routed is not None:
            return handoff_turn(asked, routed)
        if not asked.text:
            reply = (
                asked.answers.attachment(message.attachment) if message.attachment else asked.answers.empty_message()
            )
            return Turn(asked.language, (reply,), "attachment" if message.attachment else None)
        return await self._understand(asked)

    async def _understand(self, asked: Asked) -> Turn:
        """Free text: ask the NLU, then answer, suggest, say what Pana covers, or say it did not understand."""
        answers = asked.answers
        if not await self._global.take():  # everyone together is over the limit: spare the NLU
            return Turn(asked.language, (answers.busy(),), "busy")
        try:
            result = await self._classifier.classify(asked.text)
        except NluUnavailable as error:
            log.warning("NLU unavailable, answering with the menu: %s", error)
            return Turn(asked.language, tuple(answers.nlu_down()), "nlu_unavailable")
        result = lift_arrival(asked.text, result)  # a story of arrival without status: asylum now (5 days)
        decision = decide(result, self._config.thresholds, self._catalog.is_topic, self._catalog.is_urgent)
        understood = decision.action in (Action.ANSWER, Action.SUGGEST, Action.URGENT, Action.OUT_OF_SCOPE)
        asked.state.failures = 0 if understood else asked.state.failures + 1
        if decision.action is Action.ANSWER and decision.intent:
            turn = await answer_intent(self._actions, asked, decision.intent)
            turn = offer_also(turn, answers, decision.also)
        elif decision.action is Action.URGENT:
            turn = Turn(asked.language, urgent_replies(answers, decision))
        elif decision.action is Action.OUT_OF_SCOPE:
            turn = Turn(asked.language, (answers.out_of_scope(),))
        elif decision.action is Action.SUGGEST:
            turn = Turn(asked.language, (answers.suggestions(decision.suggestions),))
        else:
            turn = await self._actions.not_understood(asked)
        return replace(turn, intent=turn.intent or decision.intent, confidence=decision.confidence)
