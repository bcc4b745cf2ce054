"""The dialogue core on fakes: no Rasa, no database, no network (the fast layer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.content.catalog import ContentCatalog
from bot.content.loader import load_catalog
from bot.core.conversation import Conversation, CoreConfig
from bot.core.language import LanguageDetector
from bot.core.messages import IncomingMessage, Turn
from bot.core.policy import Thresholds
from bot.i18n import Translations
from bot.storage.state import MemoryStateStore
from tests.conftest import REPO
from tests.fakes import FakeClock, MemoryConversationStore, RecordingHandoff, ScriptedClassifier

SCRIPT: dict[str, str | tuple[tuple[str, float], ...]] = {
    "How do I apply for asylum in Kazakhstan?": "asylum_apply",
    "Как подать заявление на статус беженца в Казахстане?": "asylum_apply",
    "hello": "greet",
    "Здравствуйте": "greet",
    "I need a lawyer": "request_lawyer",
    "delete my data": "delete_my_data",
    "менің деректерімді жойыңыз": "delete_my_data",
    "what is the weather on Mars": "out_of_scope",
    "blorp": (("asylum_apply", 0.2), ("asylum_rejected", 0.15)),
    "xyzzy": (("greet", 0.01),),
    "the police took my brother": "detention_deportation",
    "please answer in Kazakh": "change_language",
}


@dataclass
class Core:
    conversation: Conversation
    classifier: ScriptedClassifier
    store: MemoryConversationStore
    handoff: RecordingHandoff
    clock: FakeClock
    catalog: ContentCatalog

    async def say(self, text: str = "", *, user: str = "u1", **fields: str) -> Turn:
        return await self.conversation.handle(IncomingMessage(channel="test", user_id=user, text=text, **fields))


Build = Callable[[], Awaitable[Core]]


@pytest.fixture(scope="session")
def catalog() -> ContentCatalog:
    return load_catalog(REPO / "content")


@pytest.fixture(scope="session")
def translations() -> Translations:
    return Translations(REPO / "locales")


@pytest.fixture
def core(catalog: ContentCatalog, translations: Translations, detector: LanguageDetector) -> Core:
    classifier, store, handoff, clock = (
        ScriptedClassifier(SCRIPT),
        MemoryConversationStore(),
        RecordingHandoff(),
        FakeClock(),
    )
    conversation = Conversation(
        classifier=classifier,
        store=store,
        state=MemoryStateStore(),
        catalog=catalog,
        handoff=handoff,
        translator=translations,
        detector=detector,
        config=CoreConfig(
            thresholds=Thresholds(answer=0.4, suggest=0.15, out_of_scope=0.05),
            default_language="ru",
            max_input_chars=4000,
            state_ttl_seconds=3600,
            retention_days=180,
            audit_retention_days=365,
        ),
        clock=clock,
    )
    return Core(conversation, classifier, store, handoff, clock, catalog)
