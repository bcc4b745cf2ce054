"""The conversation core: one incoming message in, one Turn (replies and what was understood) out."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from bot.content.loader import ContentCatalog
from bot.content.render import find_city
from bot.core import payloads
from bot.core.answers import LANGUAGE_OPTIONS, Answers
from bot.core.language import Detection, LanguageDetector, choose_language, normalise_language_code
from bot.core.messages import LANGUAGES, IncomingMessage, Language, Option, Reply, Turn
from bot.core.policy import Action, Thresholds, decide
from bot.core.ports import (
    ContactRecord,
    ConversationStore,
    Handoff,
    HandoffOutcome,
    HandoffReason,
    IntentClassifier,
    StateStore,
    Translator,
)
from bot.core.replay import decode_turn, encode_turn
from bot.errors import NluUnavailable

log = logging.getLogger(__name__)

YES = frozenset(
    [
        "yes",
        "y",
        "yeah",
        "ok",
        "да",
        "д",
        "ага",
        "конечно",
        "иә",
        "ия",
        "иа",
        "ие",
        "әрине",
    ]
)
# Confirm "delete my data" only: typed at the lawyer-consent question, these must not share anything.
DELETE_WORDS = frozenset(["delete", "удалить", "удали", "жою", "өшіру", "оширу"])
NO = frozenset(["no", "n", "нет", "не", "жоқ", "жок", "жок.", "отмена", "cancel"])
LANGUAGE_WORDS: tuple[tuple[Language, re.Pattern[str]], ...] = (
    ("kk", re.compile(r"қазақ|казах|казак|kazak|qazaq|kazakh", re.IGNORECASE)),
    ("ru", re.compile(r"рус|орыс|russian|russ|orys|po-russki|porusski", re.IGNORECASE)),
    ("en", re.compile(r"english|англ|ағылшын|агылшын|inglish|angli|agylshyn", re.IGNORECASE)),
)
FAILURES_BEFORE_LAWYER = 2


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


KEPT_CONTROLS = frozenset("\n\t\u200c\u200d")  # newline, tab, zero-width non-joiner, zero-width joiner


def clean_text(text: str, limit: int) -> str:
    """Drop control characters and keep the text within the size we process.

    The zero-width non-joiner and joiner are format characters (Cf) but spelling in Persian/Dari and
    Kurdish (and emoji sequences): they stay.
    """
    kept = "".join(ch for ch in text if ch in KEPT_CONTROLS or not unicodedata.category(ch).startswith("C"))
    return kept.strip()[:limit]


def _state_key(contact: ContactRecord) -> str:
    return f"{contact.channel}:{contact.platform_id}"


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
    """Channel-neutral dialogue logic; every channel adapter calls `handle`."""

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
    ) -> None:
        self._classifier = classifier
        self._store = store
        self._state = state
        self._catalog = catalog
        self._handoff = handoff
        self._translator = translator
        self._detector = detector
        self._config = config

    def answers(self, language: Language) -> Answers:
        return Answers.translated(self._catalog, self._translator, language)

    async def handle(self, message: IncomingMessage) -> Turn:
        contact = await self._store.get_or_create_contact(message.channel, message.user_id)
        text = clean_text(message.text, self._config.max_input_chars)
        message_id = await self._store.record_inbound(contact.id, text, channel_message_id=message.channel_message_id)
        if message_id is None:  # the platform delivered this message again
            earlier = await self._redelivered(contact, message.channel_message_id)
            if isinstance(earlier, Turn):
                return earlier
            message_id = earlier  # stored, but the process stopped before deciding: decide now
        state_key = _state_key(contact)
        state = await self._state.get(state_key) or {}
        detection = self._detector.detect(text)
        language = await self._language(contact, detection, message.language_hint)
        flooding = self._flooding(state)
        turn = (
            self._slow_down(language, state)
            if flooding
            else await self._respond(contact, message, text, language, state)
        )
        if turn.extra.get("deleted"):
            await self._state.delete(state_key)
            return turn
        if not flooding and _language_unknown(contact, message, detection):
            turn = self._offer_languages(turn)
        await self._state.set(state_key, state, self._config.state_ttl_seconds)
        await self._store.annotate(message_id, intent=turn.intent, confidence=turn.confidence, language=turn.language)
        for reply in turn.replies:
            await self._store.record_outbound(contact.id, reply.text, intent=turn.intent, language=turn.language)
        turn = replace(turn, message_id=message_id)
        await self._store.keep_turn(message_id, encode_turn(turn))  # until the channel confirms it sent them
        return turn

    async def delivered(self, turn: Turn) -> None:
        """The channel sent the turn's replies (or queued them durably): a redelivery gets no second answer."""
        if turn.message_id is not None:
            await self._store.mark_answered(turn.message_id)

    async def _redelivered(self, contact: ContactRecord, channel_message_id: str | None) -> Turn | int:
        """A message seen before: nothing if it was answered, its replies again if sending them failed."""
        earlier = await self._store.redelivery(contact.id, channel_message_id) if channel_message_id else None
        if earlier is None or earlier.answered:
            return Turn(contact.language or self._config.default_language, (), extra={"duplicate": "yes"})
        if earlier.turn is not None:
            log.info("Message %d came again before its replies were sent; sending them again", earlier.message_id)
            return decode_turn(earlier.turn, earlier.message_id)
        return earlier.message_id

    def _flooding(self, state: dict[str, Any]) -> bool:
        """Count this message in the user's window; True once they send more than the flood limit."""
        now = time.time()
        recent = [t for t in state.get("recent", []) if now - t < self._config.flood_window_seconds]
        recent.append(now)
        state["recent"] = recent[-(self._config.flood_limit + 1) :]
        if len(recent) <= self._config.flood_limit:
            state.pop("slowed", None)
            return False
        return True

    def _slow_down(self, language: Language, state: dict[str, Any]) -> Turn:
        """The message is kept in the record, not answered; the user is asked once per flood to slow down."""
        if state.get("slowed"):
            return Turn(language, (), "flood")
        state["slowed"] = True
        text = self._translator.gettext(
            "You are sending messages very fast. Please wait a moment, then send your question again.", language
        )
        return Turn(language, (Reply(text),), "flood")

    async def _language(self, contact: ContactRecord, detection: Detection, hint: str | None) -> Language:
        language = choose_language(
            detection,
            sticky=contact.language,
            chosen=contact.language_chosen,
            hint=hint,
            default=self._config.default_language,
        )
        if language != contact.language and not contact.language_chosen:
            await self._store.set_language(contact.id, language, chosen=False)
        return language

    def _offer_languages(self, turn: Turn) -> Turn:
        """Add the three languages to the last reply, asking in all three, unless the turn offers them already."""
        if not turn.replies or any(option in LANGUAGE_OPTIONS for reply in turn.replies for option in reply.options):
            return turn
        question = " / ".join(self._translator.gettext("Which language should I use?", code) for code in LANGUAGES)
        last = turn.replies[-1]
        offered = Reply(f"{last.text}\n\n{question}", (*last.options, *LANGUAGE_OPTIONS))
        return replace(turn, replies=(*turn.replies[:-1], offered))

    async def _respond(
        self, contact: ContactRecord, message: IncomingMessage, text: str, language: Language, state: dict[str, Any]
    ) -> Turn:
        pending = state.pop("pending", None)
        confirm = state.pop("confirm", None)
        if message.payload:
            return await self._payload(contact, message.payload, language, pending, state)
        word = text.lower().strip(" .!")
        if pending == "delete" and word in YES | DELETE_WORDS | NO:
            chosen = payloads.DELETE_NO if word in NO else payloads.DELETE_YES
            return await self._payload(contact, chosen, language, pending, state)
        if pending == "handoff" and confirm and word in YES | NO:  # consent typed instead of picked
            return await self._payload(contact, confirm[0] if word in YES else confirm[1], language, None, state)
        # While a lawyer holds the person's case, what they write is for the lawyer, not for the NLU.
        routed = await self._handoff.route(contact, language, text, message.attachment)
        if routed is not None:
            return self._handoff_turn(language, routed, state)
        answers = self.answers(language)
        _ = answers._
        if not text:
            if message.attachment:
                return self._attachment(message.attachment, answers)
            return Turn(
                language, (answers.menu(_("I received an empty message. Please write your question in words.")),)
            )
        try:
            result = await self._classifier.classify(text)
        except NluUnavailable as error:
            log.warning("NLU unavailable, answering with the menu: %s", error)
            return self._nlu_down(answers)
        decision = decide(result, self._config.thresholds, self._catalog.is_topic)
        understood = decision.action in (Action.ANSWER, Action.SUGGEST, Action.OUT_OF_SCOPE)
        state["failures"] = 0 if understood else int(state.get("failures", 0)) + 1
        if decision.action is Action.ANSWER and decision.intent:
            turn = await self._intent(contact, decision.intent, text, answers, state)
        elif decision.action is Action.OUT_OF_SCOPE:
            turn = Turn(
                language,
                (
                    answers.menu(
                        _(
                            "Sorry, I can't help with that. I answer questions about asylum, refugee status, "
                            "statelessness, documents, children, stay and work in Kazakhstan."
                        )
                    ),
                ),
            )
        elif decision.action is Action.SUGGEST:
            options = (*answers.topic_options(decision.suggestions), answers.lawyer_option(), answers.menu_option())
            turn = Turn(language, (Reply(_("I am not sure I understood. Did you mean one of these?"), options),))
        else:
            turn = await self._not_understood(contact, answers, state)
        return replace(turn, intent=turn.intent or decision.intent, confidence=decision.confidence)

    # --- intents -----------------------------------------------------------------------------------
    async def _intent(
        self, contact: ContactRecord, intent: str, text: str, answers: Answers, state: dict[str, Any]
    ) -> Turn:
        language = answers.language
        _ = answers._
        if self._catalog.is_topic(intent):
            return await self._topic(contact, intent, answers, state, city=find_city(text, self._catalog))
        if intent == "greet":
            return Turn(
                language,
                (
                    answers.menu(
                        _(
                            "Hello! I am Pana, a free assistant for refugees, asylum-seekers and stateless people in "
                            "Kazakhstan. I give general legal information and help you reach free legal aid. "
                            "Write your question in your own words, or choose a topic."
                        )
                    ),
                ),
                intent,
            )
        if intent == "goodbye":
            return Turn(language, (Reply(_("Take care. Write again whenever you need help.")),), intent)
        if intent == "thanks":
            return Turn(
                language,
                (Reply(_("You are welcome. Is there anything else I can help with?"), answers.category_options()),),
                intent,
            )
        if intent == "help":
            return Turn(language, (answers.menu(self._help_text(answers)),), intent)
        if intent == "bot_challenge":
            return Turn(
                language,
                (
                    Reply(
                        _("I am an automated assistant, not a person. I can help you reach a lawyer if you need one."),
                        (answers.lawyer_option(), answers.menu_option()),
                    ),
                ),
                intent,
            )
        if intent == "change_language":
            return await self._change_language(contact, text, answers)
        if intent == "delete_my_data":
            state["pending"] = "delete"
            return self._confirm_delete(answers)
        if intent == "request_lawyer":
            return await self._request_lawyer(contact, answers, state)
        return Turn(language, (answers.menu(),), intent)

    def _help_text(self, answers: Answers) -> str:
        return answers._(
            "I can explain asylum and refugee status, statelessness, citizenship, documents, birth registration "
            "of children, stay and work, and what to do if someone is detained. Write your question in your own "
            "words, or choose a topic. I can also help you reach a lawyer."
        )

    async def _topic(
        self, contact: ContactRecord, topic_id: str, answers: Answers, state: dict[str, Any], city: str | None = None
    ) -> Turn:
        entry = self._catalog.topics[topic_id]
        language = answers.language
        state["topic"] = topic_id  # a lawyer asked for next sees what the person last read about
        if not self._catalog.is_urgent(topic_id):
            return Turn(language, tuple(answers.topic(entry, city)), topic_id, topic=topic_id)
        handoff = await self._handoff.request(contact, language, topic=topic_id, urgent=True, reason="urgent")
        self._await_confirmation(state, handoff)
        replies = (*answers.emergency(), *answers.topic(entry), *handoff.replies)
        return Turn(language, replies, topic_id, topic=topic_id, handoff=handoff.case_id)

    async def _offer_lawyer(
        self, contact: ContactRecord, language: Language, state: dict[str, Any], reason: HandoffReason
    ) -> HandoffOutcome:
        topic = state.get("topic")
        topic = topic if isinstance(topic, str) and self._catalog.is_topic(topic) else None
        urgent = topic is not None and self._catalog.is_urgent(topic)
        outcome = await self._handoff.request(contact, language, topic=topic, urgent=urgent, reason=reason)
        self._await_confirmation(state, outcome)
        return outcome

    async def _request_lawyer(self, contact: ContactRecord, answers: Answers, state: dict[str, Any]) -> Turn:
        outcome = await self._offer_lawyer(contact, answers.language, state, "asked")
        return Turn(answers.language, outcome.replies, "request_lawyer", handoff=outcome.case_id)

    @staticmethod
    def _await_confirmation(state: dict[str, Any], outcome: HandoffOutcome) -> None:
        """The handoff asked a yes/no question: a typed "yes" or "no" next answers it."""
        if outcome.confirm is not None:
            state["pending"] = "handoff"
            state["confirm"] = list(outcome.confirm)

    def _handoff_turn(self, language: Language, outcome: HandoffOutcome, state: dict[str, Any]) -> Turn:
        self._await_confirmation(state, outcome)
        return Turn(language, outcome.replies, "handoff", handoff=outcome.case_id)

    async def _change_language(self, contact: ContactRecord, text: str, answers: Answers) -> Turn:
        wanted = [code for code, pattern in LANGUAGE_WORDS if pattern.search(text)]
        if len(wanted) == 1:
            return await self._set_language(contact, wanted[0], "change_language")
        return Turn(
            answers.language, (Reply(answers._("Which language should I use?"), LANGUAGE_OPTIONS),), "change_language"
        )

    async def _set_language(self, contact: ContactRecord, language: Language, intent: str) -> Turn:
        await self._store.set_language(contact.id, language, chosen=True)
        answers = self.answers(language)
        return Turn(language, (answers.menu(answers._("I will answer in English from now on.")),), intent)

    def _confirm_delete(self, answers: Answers) -> Turn:
        _ = answers._
        options = (Option(_("Yes, delete"), payloads.DELETE_YES), Option(_("No, keep"), payloads.DELETE_NO))
        text = _(
            "Do you want me to delete everything I have stored about you (your messages and language choice)? "
            "This cannot be undone."
        )
        return Turn(answers.language, (Reply(text, options),), "delete_my_data")

    async def _not_understood(self, contact: ContactRecord, answers: Answers, state: dict[str, Any]) -> Turn:
        _ = answers._
        if state["failures"] >= FAILURES_BEFORE_LAWYER:
            state["failures"] = 0  # offer a lawyer once per run of misunderstandings, not on every message
            text = _("I still did not understand. You can choose a topic, or talk to a lawyer.")
            outcome = await self._offer_lawyer(contact, answers.language, state, "not_understood")
            return Turn(answers.language, (Reply(text), *outcome.replies), handoff=outcome.case_id)
        text = _("Sorry, I did not understand. Please write your question in other words, or choose a topic.")
        return Turn(answers.language, (answers.menu(text),))

    def _nlu_down(self, answers: Answers) -> Turn:
        intro = answers._(
            "I cannot read free text right now. Please choose a topic below. "
            "For legal help, you can also contact these organisations:"
        )
        replies = answers.legal_aid(intro)
        return Turn(answers.language, (*replies, answers.menu()), "nlu_unavailable")

    def _attachment(self, kind: str, answers: Answers) -> Turn:
        _ = answers._
        if kind == "voice":
            text = _("I cannot listen to voice messages. Please write your question in words.")
        else:
            text = _("I can only read text messages. Please write your question in words.")
        return Turn(answers.language, (answers.menu(text),), "attachment")

    # --- options picked ----------------------------------------------------------------------------
    async def _payload(
        self, contact: ContactRecord, payload: str, language: Language, pending: str | None, state: dict[str, Any]
    ) -> Turn:
        parsed = payloads.parse(payload)
        answers = self.answers(language)
        _ = answers._
        if parsed.kind == payloads.CASE:
            return self._handoff_turn(language, await self._handoff.choose(contact, language, payload), state)
        if parsed.kind == "topic" and parsed.args and self._catalog.is_topic(parsed.args[0]):
            return await self._topic(contact, parsed.args[0], answers, state)
        if parsed.kind == "more" and len(parsed.args) == 2 and parsed.args[0] in self._catalog.topics:
            reply = answers.followup(self._catalog.topics[parsed.args[0]], parsed.args[1])
            if reply is not None:
                return Turn(language, (reply,), parsed.args[0], topic=parsed.args[0])
        if parsed.kind == "menu":
            reply = answers.category(parsed.args[0]) if parsed.args else answers.menu()
            return Turn(language, (reply or answers.menu(),), "help")
        if parsed.kind == "lang" and parsed.args and normalise_language_code(parsed.args[0]):
            return await self._set_language(
                contact, normalise_language_code(parsed.args[0]) or language, "change_language"
            )
        if payload == payloads.LANGUAGE:
            return Turn(language, (Reply(_("Which language should I use?"), LANGUAGE_OPTIONS),), "change_language")
        if payload == payloads.LAWYER:
            return await self._request_lawyer(contact, answers, state)
        if payload == payloads.FORGET:
            state["pending"] = "delete"
            return self._confirm_delete(answers)
        if payload == payloads.DELETE_YES and pending == "delete":
            await self._store.delete_contact(contact.id)
            return Turn(
                language,
                (Reply(_("Done. I have deleted everything I stored about you.")),),
                "delete_my_data",
                extra={"deleted": "yes"},
            )
        if payload in (payloads.DELETE_YES, payloads.DELETE_NO):
            return Turn(language, (Reply(_("Nothing was deleted."), answers.category_options()),), "delete_my_data")
        if payload == payloads.HELP:
            return Turn(language, (answers.menu(self._help_text(answers)),), "help")
        if payload == payloads.PRIVACY:
            return Turn(language, (Reply(self._privacy_text(answers)),), "privacy")
        if payload == payloads.START:
            return await self._intent(contact, "greet", "", answers, {})
        return Turn(language, (answers.menu(),), "unknown_option")

    def _privacy_text(self, answers: Answers) -> str:
        # What the retention sweep does (bot/app.py create_retention); a test holds the two together.
        return answers._(
            "What Pana keeps: an id of your chat, your language, and your messages with what I understood of "
            "them. Each message is deleted {days} days after it was written; your chat id and language {days} days "
            "after your last message, unless a lawyer is still working on your request. A request to a lawyer is "
            "detached from you {days} days after it closed: only an anonymous count stays. The log of what "
            "lawyers did with requests, which never holds any text, is kept {audit_days} days. Nothing is shared "
            "with anyone unless you agree to talk to a lawyer. Write «delete my data» at any time to erase "
            "everything."
        ).format(days=self._config.retention_days, audit_days=self._config.audit_retention_days)
