"""The relay reaches people on other channels than Telegram: the terminal chat (WhatsApp: test_whatsapp.py)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from bot.channels.console import CHANNEL, ConsoleChannel, ConsoleSender
from bot.storage.handoff_tables import CaseRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, HandoffStack, StackFactory

pytestmark = pytest.mark.asyncio


async def test_a_console_user_and_a_telegram_lawyer_talk_through_the_queue(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    chat = ConsoleChannel(stack.app.conversation, user_id="terminal-1")
    consent = await chat.send("I need to talk to a lawyer")
    assert consent.replies[-1].options[0].payload.startswith("case:consent:")
    opened = await chat.send("1")  # the first option, as a person types it in the terminal
    assert opened.handoff == "1"
    await stack.write("/take 1", chat_id=LAWYER_A, language="en")
    stack.new_to(LAWYER_A)

    # This process could not reach the terminal yet: the notice waits in the record for the terminal's process.
    screen = io.StringIO()
    stack.app.handoff.outbox.register_sender(CHANNEL, ConsoleSender(chat, jsonl=False, sink=screen))
    await stack.app.handoff.worker.run_once()
    assert "Aigerim" in screen.getvalue() and "#1" in screen.getvalue()

    relayed = await chat.send("They took my passport at work")
    assert relayed.replies == () and relayed.handoff == "1"
    assert [m["text"] for m in stack.new_to(LAWYER_A)] == ["#1: They took my passport at work"]

    await stack.write("Which city are you in?", chat_id=LAWYER_A, language="en", reply_to=stack.last_id_to(LAWYER_A))
    assert "Lawyer Aigerim (case #1):\nWhich city are you in?" in screen.getvalue()

    await stack.write("/close 1", chat_id=LAWYER_A, language="en")
    assert "5. 5" in screen.getvalue(), "the rating options are numbered in the terminal"
    thanks = await chat.send("4")
    assert thanks.replies[0].text.startswith(stack.tr("Thank you for your rating. It helps us improve.", "en"))
    async with record(stack.app)() as session:
        assert (await session.execute(select(CaseRow.rating))).scalar_one() == 4


async def test_two_misunderstandings_in_a_row_offer_a_lawyer(build_stack: StackFactory) -> None:
    never_sure = {
        "answer_threshold": 1.0,
        "suggest_threshold": 1.0,
        "out_of_scope_threshold": 1.0,
        "urgent_threshold": 1.0,
    }
    confused = await build_stack(policy=never_sure)
    await confused.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    chat = ConsoleChannel(confused.app.conversation, user_id="terminal-2")
    first = await chat.send("blah blah something")
    assert not any(o.payload.startswith("case:") for r in first.replies for o in r.options)
    second = await chat.send("still something unclear")
    consent = [o.payload for r in second.replies for o in r.options if o.payload.startswith("case:consent:")]
    assert consent == ["case:consent:-:f"], "the lawyer learns why Pana offered them"
    third = await chat.send("and again")
    assert not any(o.payload.startswith("case:") for r in third.replies for o in r.options), "not on every message"
