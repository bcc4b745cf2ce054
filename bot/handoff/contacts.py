"""The handoff when no lawyer is registered: point the user to free legal aid, honestly."""

from __future__ import annotations

from bot.core.answers import Answers
from bot.core.ports import ContactRecord, ContentCatalog, HandoffOutcome, HandoffReason
from bot.i18n import Translator
from bot.languages import Language


class LegalAidContactsHandoff:
    """Answers a handoff request with the legal-aid organisations; opens no case."""

    def __init__(self, catalog: ContentCatalog, translator: Translator) -> None:
        self._catalog = catalog
        self._translator = translator

    async def request(
        self,
        contact: ContactRecord,
        language: Language,
        *,
        topic: str | None,
        urgent: bool,
        reason: HandoffReason = "asked",
    ) -> HandoffOutcome:
        answers = Answers.translated(self._catalog, self._translator, language)
        if urgent:  # the urgent answer already led with these organisations
            text = answers._(
                "Talking to a lawyer inside Pana is not available yet: please contact the organisations above."
            )
            return HandoffOutcome(replies=(answers.menu(text),))
        intro = answers._(
            "Talking to a lawyer inside Pana is not available yet. These legal-aid organisations can help:"
        )
        replies = answers.legal_aid(intro)
        return HandoffOutcome(replies=(*replies[:-1], answers.menu(replies[-1].text)))

    async def choose(self, contact: ContactRecord, language: Language, payload: str) -> HandoffOutcome:
        """An option of a case queue that is no longer there: offer the organisations instead."""
        return await self.request(contact, language, topic=None, urgent=False)

    async def route(
        self,
        contact: ContactRecord,
        language: Language,
        text: str,
        attachment: str | None,
        *,
        message_id: int | None = None,
    ) -> HandoffOutcome | None:
        return None  # no lawyer holds anything: the core answers every message
