"""The dialogue core alone, on fakes: what it decides for each kind of message (fast: no Rasa, no database)."""

from __future__ import annotations

import pytest

from bot.core import payloads
from bot.core.messages import Outcome
from bot.core.replay import encode_turn
from bot.errors import InFlight
from tests.core.conftest import Core
from tests.fakes import UnscriptedText

pytestmark = [pytest.mark.fast, pytest.mark.asyncio]


async def test_a_topic_question_is_answered_from_content(core: Core) -> None:
    turn = await core.say("How do I apply for asylum in Kazakhstan?")
    assert (turn.language, turn.topic, turn.outcome) == ("en", "asylum_apply", Outcome.ANSWERED)
    assert turn.replies[0].text.startswith(core.catalog.topics["asylum_apply"].answer.get("en"))
    assert any(o.payload == payloads.LAWYER for o in turn.replies[-1].options)


async def test_the_reply_language_follows_the_text(core: Core) -> None:
    turn = await core.say("Как подать заявление на статус беженца в Казахстане?")
    assert (turn.language, turn.topic) == ("ru", "asylum_apply")


async def test_an_unscripted_text_fails_loudly(core: Core) -> None:
    with pytest.raises(UnscriptedText):
        await core.say("a text nobody scripted")


async def test_nlu_down_answers_with_the_menu_and_legal_aid(core: Core) -> None:
    core.classifier.down = True
    turn = await core.say("hello")
    assert turn.intent == "nlu_unavailable"
    assert any(o.payload.startswith("menu:") for o in turn.replies[-1].options)


async def test_low_confidence_suggests_topics_and_a_lawyer(core: Core) -> None:
    turn = await core.say("blorp")
    payloads_offered = [o.payload for o in turn.replies[0].options]
    assert payloads.topic("asylum_apply") in payloads_offered and payloads.LAWYER in payloads_offered


async def test_two_misunderstandings_offer_a_lawyer(core: Core) -> None:
    await core.say("xyzzy")
    turn = await core.say("xyzzy")
    assert [r.reason for r in core.handoff.requests] == ["not_understood"]
    assert turn.replies[-1].text == "May a lawyer read this conversation?"


async def test_consent_can_be_typed_instead_of_picked(core: Core) -> None:
    await core.say("I need a lawyer")
    turn = await core.say("yes")
    assert core.handoff.chosen == ["case:consent:yes"] and turn.handoff == "1"


async def test_a_delete_word_is_not_consent(core: Core) -> None:
    await core.say("I need a lawyer")
    with pytest.raises(UnscriptedText):  # not taken as consent: it goes to the NLU like any text
        await core.say("delete")
    assert core.handoff.chosen == []


async def test_delete_my_data_asks_then_deletes_on_a_typed_kazakh_word(core: Core) -> None:
    asked = await core.say("менің деректерімді жойыңыз")
    assert {o.payload for o in asked.replies[0].options} == {payloads.DELETE_YES, payloads.DELETE_NO}
    done = await core.say("жою")
    assert done.outcome is Outcome.DELETED and core.store.contacts == {}


async def test_a_deleted_persons_message_delivered_again_says_done_and_brings_nothing_back(core: Core) -> None:
    await core.say("hello", channel_message_id="m1")
    await core.say("delete my data", channel_message_id="m2")
    await core.say("жою", channel_message_id="m3")
    assert core.store.contacts == {}
    for replayed in ("m1", "m3"):  # an old webhook replayed; the confirmation redelivered after a failed "Done"
        again = await core.say("hello", channel_message_id=replayed)
        said = core.conversation.answers("en").deleted().text  # in the language the person last had
        assert again.outcome is Outcome.DELETED and [r.text for r in again.replies] == [said]
    assert core.store.contacts == {} and core.store.messages == {}, "nothing re-created"
    fresh = await core.say("hello", channel_message_id="m4")  # a new message is a new start
    assert fresh.outcome is not Outcome.DELETED and len(core.store.contacts) == 1


async def test_confirming_without_a_question_deletes_nothing(core: Core) -> None:
    await core.say("hello")
    turn = await core.say(payload=payloads.DELETE_YES)
    assert turn.outcome is not Outcome.DELETED and len(core.store.contacts) == 1


async def test_an_urgent_topic_offers_a_lawyer_at_once(core: Core) -> None:
    turn = await core.say("the police took my brother")
    assert turn.topic == "detention_deportation"
    assert [(r.topic, r.urgent, r.reason) for r in core.handoff.requests] == [("detention_deportation", True, "urgent")]


async def test_a_held_case_routes_text_to_the_lawyer_not_the_nlu(core: Core) -> None:
    first = await core.say("hello")
    assert first.outcome is Outcome.ANSWERED
    core.handoff.holding.add(1)
    await core.say("my question for the lawyer")  # unscripted: the NLU is never asked
    assert core.handoff.routed == ["my question for the lawyer"]


async def test_a_redelivered_message_is_answered_once(core: Core) -> None:
    first = await core.say("hello", channel_message_id="m1")
    await core.conversation.delivered(first)
    again = await core.say("hello", channel_message_id="m1")
    assert again.replies == () and again.outcome is Outcome.DUPLICATE


async def test_replies_not_confirmed_are_replayed_on_redelivery(core: Core) -> None:
    first = await core.say("hello", channel_message_id="m2")
    await core.conversation.progress(first, 1)  # one part went out, then sending failed
    await core.conversation.unsent(first)
    again = await core.say("hello", channel_message_id="m2")
    assert again.outcome is Outcome.REPLAYED and again.replies == first.replies
    assert encode_turn(again) == encode_turn(first)
    assert again.parts_sent == 1, "a replay goes on after what went out"


async def test_a_redelivery_while_the_first_is_handled_is_refused_retryably(core: Core) -> None:
    await core.say("hello", channel_message_id="m3")  # decided, being sent: the lease is held
    with pytest.raises(InFlight):
        await core.say("hello", channel_message_id="m3")
    outbound = [m for m in core.store.messages.values() if m.direction == "out"]
    assert len(outbound) == 1, "the decision is stored once"


async def test_a_flood_is_slowed_once_and_passes_when_the_clock_moves(core: Core) -> None:
    turns = [await core.say("hello") for _ in range(12)]
    assert [t.intent for t in turns[10:]] == ["flood", "flood"]
    assert len(turns[10].replies) == 1 and turns[11].replies == ()  # asked once per flood
    core.clock.advance(seconds=11)
    assert (await core.say("hello")).intent == "greet"


async def test_after_the_slow_down_note_a_question_sent_again_after_a_pause_is_answered(core: Core) -> None:
    """Regression: a long story pasted in many short messages, then the question sent again as the note asks.

    The burst kept the person over the limit for a whole window, so the question sent again a few seconds
    later got nothing at all: no answer and no second note.
    """
    burst = [await core.say("hello") for _ in range(15)]  # all within the same instant
    assert [t.intent for t in burst[10:]] == ["flood"] * 5
    assert [bool(t.replies) for t in burst[10:]] == [True, False, False, False, False], "one note per flood"
    core.clock.advance(seconds=3)  # "wait a moment, then send your question again"
    again = await core.say("hello")
    assert again.intent == "greet" and again.replies, "the person slowed down: answered"
    assert (await core.say("hello")).intent == "flood", "sent fast again: still over the limit"
    assert (await core.say("hello")).replies == (), "and the flood's one note was given already"


async def test_a_script_over_the_limit_is_answered_no_faster_than_the_limit(core: Core) -> None:
    """Pausing earns an answer only at the pace the limit permits (10 per 10 s): a fast script stays silenced."""
    answered = 0
    for _ in range(60):  # 60 messages in 30 s, two a second
        turn = await core.say("hello")
        answered += turn.intent != "flood"
        core.clock.advance(seconds=0.5)
    assert answered == 10, "the first 10; every later message came sooner than 1 s after the one before"


async def test_a_language_named_in_the_text_is_chosen(core: Core) -> None:
    turn = await core.say("please answer in Kazakh")
    assert turn.language == "kk" and core.store.contacts[1].language_chosen
