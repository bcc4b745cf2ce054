"""Fuzzing the core and the lawyers' desk on fakes (fast): no input ends a turn with an exception.

Each example runs in its own event loop (`asyncio.run`), so hypothesis can shrink a failure to its
smallest input. Examples are bounded; the count run is printed (`-s`) and asserted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content.catalog import ContentCatalog
from bot.content.loader import load_catalog
from bot.core.conversation import Conversation, CoreConfig
from bot.core.language import LanguageDetector
from bot.core.messages import IncomingMessage
from bot.core.policy import Thresholds
from bot.core.ports import Classification, IntentScore
from bot.handoff.announce import Announcer
from bot.handoff.cards import CaseCards
from bot.handoff.desk import LawyerDesk, LawyerInput
from bot.handoff.outbox import Outbox
from bot.handoff.queue import HandoffQueue
from bot.hours import WorkingHours
from bot.i18n import Translations
from bot.records.cases import NewCase, Reason
from bot.storage.state import MemoryStateStore
from tests.conftest import REPO
from tests.fakes import FakeClock, MemoryConversationStore
from tests.fakes.handoff_stores import MemoryCaseStore, MemoryLawyerStore, MemoryRelayStore
from tests.fakes.senders import RecordingNotifier, RecordingSender
from tests.fuzz.strategies import commands, payloads, texts

# Needs nothing running, but kept out of the fast layer (`make test-fast`) for its minute of examples.
pytestmark = pytest.mark.fuzz

EXAMPLES = 200
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CATALOG: ContentCatalog = load_catalog(REPO / "content")
TRANSLATIONS = Translations(REPO / "locales")
DETECTOR = LanguageDetector()
INTENTS = [*CATALOG.topics, "greet", "goodbye", "thanks", "out_of_scope", "request_lawyer", "delete_my_data"]
ran: dict[str, int] = {}


class AnyTextClassifier:
    """Ranks intents for any text, deterministically (a hash): the NLU's shape without Rasa."""

    async def classify(self, text: str) -> Classification:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        first, second = INTENTS[digest[0] % len(INTENTS)], INTENTS[digest[1] % len(INTENTS)]
        confidence = digest[2] / 255
        return Classification((IntentScore(first, confidence), IntentScore(second, (1 - confidence) / 2)))


def handoff_parts(clock: FakeClock) -> tuple[HandoffQueue, LawyerDesk, MemoryCaseStore, MemoryLawyerStore]:
    hours = WorkingHours.parse("Mon-Fri 09:00-18:00", "Asia/Almaty")
    cases = MemoryCaseStore(contacts={1: ("test", "u1"), 2: ("test", "u2")})
    lawyers, relays = MemoryLawyerStore(), MemoryRelayStore(cases)
    outbox = Outbox(
        cases=cases, lawyers=lawyers, relays=relays, translator=TRANSLATIONS, show_lawyer_name=True, clock=clock
    )
    outbox.attach_lawyers(RecordingNotifier())
    outbox.register_sender("test", RecordingSender())
    cards = CaseCards(CATALOG, TRANSLATIONS, hours)
    announcer = Announcer(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        cards=cards,
        hours=hours,
        group_chat_id=None,
        group_language="ru",
        reannounce_after=dt.timedelta(hours=1),
        clock=clock,
    )
    queue = HandoffQueue(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        announcer=announcer,
        catalog=CATALOG,
        translator=TRANSLATIONS,
        hours=hours,
        summary_messages=5,
        clock=clock,
    )
    desk = LawyerDesk(
        cases=cases,
        lawyers=lawyers,
        relays=relays,
        outbox=outbox,
        announcer=announcer,
        cards=cards,
        translator=TRANSLATIONS,
        show_lawyer_name=True,
        clock=clock,
    )
    return queue, desk, cases, lawyers


async def conversation_turns(messages: list[IncomingMessage]) -> None:
    clock = FakeClock()
    queue, _desk, _cases, lawyers = handoff_parts(clock)
    await lawyers.add(9001, "Aigerim", ("ru", "en"))
    conversation = Conversation(
        classifier=AnyTextClassifier(),
        store=MemoryConversationStore(),
        state=MemoryStateStore(),
        catalog=CATALOG,
        handoff=queue,
        translator=TRANSLATIONS,
        detector=DETECTOR,
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
    for message in messages:
        turn = await conversation.handle(message)
        assert all(reply.text for reply in turn.replies), "never an empty message"
        await conversation.delivered(turn)


messages = st.builds(
    IncomingMessage,
    channel=st.just("test"),
    user_id=st.sampled_from(["u1", "u2"]),
    text=st.one_of(texts, commands),
    payload=st.one_of(st.none(), payloads),
    language_hint=st.one_of(st.none(), st.sampled_from(["kk", "ru", "en", "uz", ""]), texts),
    attachment=st.one_of(st.none(), st.sampled_from(["voice", "photo", "sticker"])),
    channel_message_id=st.one_of(st.none(), st.text(max_size=20)),
)


@FUZZ
@given(st.lists(messages, min_size=1, max_size=4))
def test_any_message_texts_commands_and_buttons_through_the_core(batch: list[IncomingMessage]) -> None:
    ran["core"] = ran.get("core", 0) + 1
    asyncio.run(conversation_turns(batch))


async def desk_commands(inputs: list[str]) -> None:
    clock = FakeClock()
    _queue, desk, cases, lawyers = handoff_parts(clock)
    lawyer = await lawyers.add(9001, "Aigerim", ("ru",))
    other = await lawyers.add(9002, "Dana", ("kk",))
    case = await cases.open(NewCase(1, "ru", None, False, Reason.ASKED, ""), clock())
    assert case is not None
    await desk.take(other, case.id)
    for text in inputs:
        await desk.handle(lawyer, LawyerInput(text))
    assert cases.notes_by_case.get(case.id, []) == [], "only the lawyer holding the case writes its notes"


@FUZZ
@given(st.lists(st.one_of(commands, texts), min_size=1, max_size=4))
def test_any_lawyer_command_through_the_desk(inputs: list[str]) -> None:
    ran["desk"] = ran.get("desk", 0) + 1
    asyncio.run(desk_commands(inputs))


def test_the_fuzz_examples_ran() -> None:
    """Reported in the closing note: how many examples each fuzz test ran (hypothesis may stop early)."""
    print(f"fuzz examples: {ran}")
    if ran:
        assert all(count >= 50 for count in ran.values()), ran
