"""Topic answers are rendered once per (topic, language, city, lawyer note) and reused (bot/core/actions.py)."""

from __future__ import annotations

import pytest

from bot.content.catalog import ContentCatalog
from bot.core.actions import Actions, Asked
from bot.core.answers import Answers
from bot.core.ports import ContactRecord
from bot.core.state import DialogueState
from bot.i18n import Translations
from bot.languages import LANGUAGES, Language
from tests.fakes import MemoryConversationStore, RecordingHandoff

pytestmark = [pytest.mark.fast, pytest.mark.asyncio]


class ChangingNote:
    """A lawyer note that says what it is told to, as the roster and the clock would change it."""

    def __init__(self) -> None:
        self.now = "Lawyers are at work now."

    async def sentence(self, language: Language) -> str:
        return f"{self.now} ({language})"


def make_actions(catalog: ContentCatalog, translations: Translations, note: ChangingNote) -> Actions:
    return Actions(
        store=MemoryConversationStore(),
        handoff=RecordingHandoff(),
        catalog=catalog,
        answers_in=lambda language: Answers.translated(catalog, translations, language),
        retention_days=90,
        audit_retention_days=365,
        availability=note,
    )


def asked(actions: Actions, language: Language, text: str = "") -> Asked:
    contact = ContactRecord(id=1, channel="test", platform_id="1", language=language, language_chosen=True)
    return Asked(contact, actions.answers_in(language), DialogueState(), text, 1)


async def test_every_topic_in_every_language_is_what_answers_render_each_time(
    catalog: ContentCatalog, translations: Translations
) -> None:
    note = ChangingNote()
    actions = make_actions(catalog, translations, note)
    plain = [t for t in catalog.topics if catalog.is_topic(t) and not catalog.is_urgent(t)]
    assert plain
    for language in LANGUAGES:
        answers = actions.answers_in(language)
        for topic in plain:
            expected = tuple(answers.topic(catalog.topics[topic], None, lawyer_note=await note.sentence(language)))
            for _ in range(2):  # rendered, then reused
                assert (await actions.topic(asked(actions, language), topic)).replies == expected


async def test_a_changed_lawyer_note_and_a_named_city_are_not_answered_from_an_earlier_rendering(
    catalog: ContentCatalog, translations: Translations
) -> None:
    note = ChangingNote()
    actions = make_actions(catalog, translations, note)
    topic = next(
        t
        for t, e in catalog.topics.items()
        if e.contacts is not None and catalog.is_topic(t) and not catalog.is_urgent(t)
    )
    city = catalog.directory.cities[0]
    before = await actions.topic(asked(actions, "en"), topic)
    note.now = "No lawyer answers through Pana at the moment."
    after = await actions.topic(asked(actions, "en"), topic)
    assert "No lawyer answers" in after.replies[-1].text and "No lawyer answers" not in before.replies[-1].text
    named = await actions.topic(asked(actions, "en", f"I live in {city.names.get('en')}"), topic, by_text=True)
    answers = actions.answers_in("en")
    entry = catalog.topics[topic]
    assert named.replies == tuple(answers.topic(entry, city.id, lawyer_note=await note.sentence("en")))
    assert after.replies[0].text == named.replies[0].text  # the answer itself, with its review date, is shared
