"""When the record cannot be reached, people still get help: a static reply, nothing stored, nothing promised.

Wraps the conversation (the `Dialogue` port). A database outage, as the composition root recognises it,
ends the turn with what someone in danger needs (the emergency numbers and the legal-aid organisations
from the content) and an honest word that this message was not kept. The channel sends it without
storing anything (Outcome.UNSTORED).

An outage can also start mid-turn, after the message was stored. The person still gets the static reply
at once (someone in danger needs the numbers now, not after the outage), and that reply is their answer:
once it went out, the message is marked answered as soon as the record is back (before this process
handles anything else, and before its recovery sweep replays anything), so the sweep does not send a second,
different answer to a message the person was told to write again. Had the static reply not gone out, the
message stays unanswered and the recovery sweep answers it.

The list of such messages lives in the process, and a process restarted before the record came back would lose
it (a database outage is when health checks fail and orchestrators restart workers): the recovery sweep of the
next process would then send that second answer. So each one is also marked in the state store (Redis when
configured: it outlives the process), and the sweep asks `answered_by_static_reply` before it replays a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.core.answers import Answers
from bot.core.interrupted import stored_message_id
from bot.core.language import LanguageDetector, choose_language
from bot.core.messages import IncomingMessage, Outcome, Reply, Turn
from bot.core.ports import ContentCatalog, Dialogue, StateStore
from bot.i18n import Translator
from bot.languages import Language

log = logging.getLogger(__name__)


def _mark_key(message_id: int) -> str:
    return f"static-reply:{message_id}"  # an internal row id, nothing personal (and the store hashes its keys)


class OutageAnswers:
    """The `Dialogue` channels use: the conversation, or the static reply while the record is down."""

    def __init__(
        self,
        conversation: Dialogue,
        *,
        is_outage: Callable[[BaseException], bool],
        catalog: ContentCatalog,
        translator: Translator,
        detector: LanguageDetector,
        default_language: Language,
        marks: StateStore,
        mark_ttl_seconds: int,
    ) -> None:
        self._conversation = conversation
        self._marks = marks
        self._mark_ttl_seconds = mark_ttl_seconds  # as long as the recovery sweep looks back
        self._is_outage = is_outage
        self._catalog = catalog
        self._translator = translator
        self._detector = detector
        self._default_language = default_language
        self.static_replies = 0  # since start, for the tests and the log
        self._to_settle: set[int] = set()  # stored messages answered by a static reply, not yet marked

    async def handle(self, message: IncomingMessage) -> Turn:
        await self.settle()
        try:
            return await self._conversation.handle(message)
        except Exception as error:
            if not self._is_outage(error):
                raise
            self.static_replies += 1
            stored = stored_message_id(error)
            log.warning(
                "The record is unreachable (%s): static reply, %s",
                type(error).__name__,
                "the message was stored before" if stored is not None else "nothing stored",
            )
            return replace(self.static_turn(message, stored=stored is not None), message_id=stored)

    async def settle(self) -> None:
        """Mark answered the stored messages a static reply answered, once the record is reachable again."""
        for message_id in sorted(self._to_settle):
            try:
                await self._conversation.delivered(Turn(self._default_language, (), message_id=message_id))
            except Exception as error:
                if not self._is_outage(error):
                    raise
                return  # still away: the next message, or the next recovery sweep, tries again
            self._to_settle.discard(message_id)
            await self._marks.delete(_mark_key(message_id))
            log.info("Message %d was answered by the static reply during the outage; marked answered", message_id)

    async def answered_by_static_reply(self, message_id: int) -> bool:
        """True if a static reply answered this stored message (in this process or one before a restart).

        The recovery sweep asks before it replays: such a message is marked answered now instead of answered twice.
        """
        if message_id not in self._to_settle and await self._marks.get(_mark_key(message_id)) is None:
            return False
        self._to_settle.add(message_id)
        await self.settle()
        return True

    async def progress(self, turn: Turn, parts_sent: int) -> None:
        if turn.outcome is not Outcome.UNSTORED:
            await self._conversation.progress(turn, parts_sent)

    async def unsent(self, turn: Turn) -> None:
        if turn.outcome is not Outcome.UNSTORED:
            await self._conversation.unsent(turn)

    async def delivered(self, turn: Turn) -> None:
        if turn.outcome is not Outcome.UNSTORED:
            await self._conversation.delivered(turn)
        elif turn.message_id is not None:  # the static reply answered a message stored before the outage
            self._to_settle.add(turn.message_id)
            await self._marks.set(_mark_key(turn.message_id), {"answered": True}, self._mark_ttl_seconds)
            await self.settle()

    def static_turn(self, message: IncomingMessage, *, stored: bool = False) -> Turn:
        """The static reply; "it was not saved" only when that is true (the outage came before the message was)."""
        language = choose_language(
            self._detector.detect(message.text),
            sticky=None,
            chosen=False,
            hint=message.language_hint,
            default=self._default_language,
        )
        answers = Answers.translated(self._catalog, self._translator, language)
        apology = (
            answers._("I have a technical problem right now: I cannot answer your message. Please write again later.")
            if stored
            else answers._(
                "I have a technical problem right now: I cannot answer your message, and it was not saved. "
                "Please write again later."
            )
        )
        return Turn(language, (Reply(apology), *answers.emergency()), "unavailable", outcome=Outcome.UNSTORED)
