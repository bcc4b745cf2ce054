"""Abuse limits in the core: flood control never drops a message for the lawyer; the global limit spares Rasa."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.conversation import Conversation
from bot.core.messages import IncomingMessage
from bot.core.ratelimit import GlobalRateLimit
from bot.i18n import Translations
from tests.core.conftest import Core
from tests.fakes import FakeClock

pytestmark = pytest.mark.fast


async def test_while_a_lawyer_holds_the_case_a_flood_is_still_relayed_word_for_word(core: Core) -> None:
    await core.say("hello")
    contact = await core.store.get_or_create_contact("test", "u1")
    core.handoff.holding.add(contact.id)
    texts = [f"detail {n} of what happened" for n in range(25)]  # far over the limit of 10 per window
    for text in texts:
        await core.say(text)
    assert core.handoff.routed == texts, "every message reached the lawyer, in order, none replaced by a note"


async def test_without_a_case_a_flood_is_still_slowed(core: Core) -> None:
    turns = [await core.say("hello") for _ in range(12)]
    assert turns[-1].intent == "flood" and core.handoff.routed == []


def with_global_limit(core: Core, translations: Translations, rate: float) -> Conversation:
    config = dataclasses.replace(core.conversation._config, global_turns_per_second=rate)
    return Conversation(
        classifier=core.classifier,
        store=core.store,
        state=core.conversation._state,
        catalog=core.catalog,
        handoff=core.handoff,
        translator=translations,
        detector=core.conversation._detector,
        config=config,
        clock=core.clock,
    )


async def test_over_the_global_limit_people_are_asked_to_come_back_and_rasa_is_not_called(
    core: Core, translations: Translations
) -> None:
    conversation = with_global_limit(core, translations, rate=1.0)  # burst of 2
    turns = [
        await conversation.handle(IncomingMessage(channel="test", user_id=f"person{n}", text="hello")) for n in range(5)
    ]
    assert [t.intent for t in turns] == ["greet", "greet", "busy", "busy", "busy"]
    assert len(core.classifier.seen) == 2, "the NLU was spared"
    busy = turns[-1].replies[0]
    assert "try again in a minute" in busy.text and busy.options, "a polite note, with the menu"
    core.clock.advance(seconds=1)
    again = await conversation.handle(IncomingMessage(channel="test", user_id="person9", text="hello"))
    assert again.intent == "greet"


async def test_buttons_are_not_limited(core: Core, translations: Translations) -> None:
    conversation = with_global_limit(core, translations, rate=1.0)
    for n in range(5):
        turn = await conversation.handle(IncomingMessage(channel="test", user_id=f"p{n}", payload="menu"))
        assert turn.intent != "busy"


def test_the_token_bucket_refills_at_the_rate_and_caps_at_the_burst() -> None:
    clock = FakeClock()
    limit = GlobalRateLimit(rate=2.0, burst=4.0, clock=clock)
    assert [limit.allow() for _ in range(5)] == [True] * 4 + [False]
    clock.advance(seconds=1)
    assert [limit.allow() for _ in range(3)] == [True, True, False]
    clock.advance(hours=1)  # a quiet hour does not save up more than the burst
    assert sum(limit.allow() for _ in range(10)) == 4
    assert all(GlobalRateLimit(rate=0, burst=1, clock=clock).allow() for _ in range(100)), "0 switches it off"
