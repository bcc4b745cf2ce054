"""When the record cannot be reached, people still get help: a static reply, nothing stored, nothing promised.

Wraps the conversation (the `Dialogue` port). A database outage, as the composition root recognises it,
ends the turn with what someone in danger needs (the emergency numbers and the legal-aid organisations
from the content) and an honest word that this message was not kept. The channel sends it without
storing anything (Outcome.UNSTORED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.answers import Answers
from bot.core.language import LanguageDetector, choose_language
from bot.core.messages import IncomingMessage, Outcome, Reply, Turn
from bot.core.ports import ContentCatalog, Dialogue
from bot.i18n import Translator
from bot.languages import Language

log = logging.getLogger(__name__)


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
    ) -> None:
        self._conversation = conversation
        self._is_outage = is_outage
        self._catalog = catalog
        self._translator = translator
        self._detector = detector
        self._default_language = default_language
        self.static_replies = 0  # since start, for the tests and the log

    async def handle(self, message: IncomingMessage) -> Turn:
        try:
            return await self._conversation.handle(message)
        except Exception as error:
            if not self._is_outage(error):
                raise
            self.static_replies += 1
            log.warning("The record is unreachable (%s): static reply, nothing stored", type(error).__name__)
            return self.static_turn(message)

    async def progress(self, turn: Turn, parts_sent: int) -> None:
        if turn.outcome is not Outcome.UNSTORED:
            await self._conversation.progress(turn, parts_sent)

    async def unsent(self, turn: Turn) -> None:
        if turn.outcome is not Outcome.UNSTORED:
            await self._conversation.unsent(turn)

    async def delivered(self, turn: Turn) -> None:
        if turn.outcome is not Outcome.UNSTORED:
            await self._conversation.delivered(turn)

    def static_turn(self, message: IncomingMessage) -> Turn:
        language = choose_language(
            self._detector.detect(message.text),
            sticky=None,
            chosen=False,
            hint=message.language_hint,
            default=self._default_language,
        )
        answers = Answers.translated(self._catalog, self._translator, language)
        apology = answers._(
            "I have a technical problem right now: I cannot answer your message, and it was not saved. "
            "Please write again later."
        )
        return Turn(language, (Reply(apology), *answers.emergency()), "unavailable", outcome=Outcome.UNSTORED)
