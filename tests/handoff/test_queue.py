"""The queue: urgent cases first, then the oldest; the person's place; urgent topics open with priority."""

from __future__ import annotations

import pytest

from tests.handoff.conftest import LAWYER_A, HandoffStack
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio
URGENT = "Моего мужа задержала полиция и хотят депортировать, что делать?"


async def test_queue_lists_urgent_cases_first_then_the_oldest(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await open_case(stack, chat_id=801)  # 1: normal
    stack.clock.advance(minutes=1)
    await open_case(stack, chat_id=802, text=URGENT)  # 2: urgent
    stack.clock.advance(minutes=1)
    await open_case(stack, chat_id=803)  # 3: normal
    stack.clock.advance(minutes=1)
    await open_case(stack, chat_id=804, text=URGENT)  # 4: urgent
    stack.new_to(LAWYER_A)

    await stack.write("/queue", chat_id=LAWYER_A, language="en")
    listing = stack.new_to(LAWYER_A)[-1]
    lines = [line for line in listing["text"].splitlines() if "#" in line]
    assert [line.split("#")[1].split(" ")[0] for line in lines] == ["2", "4", "1", "3"]
    assert lines[0].startswith("URGENT") and not lines[2].startswith("URGENT")
    assert stack.buttons(listing) == ["take:2", "take:4", "take:1", "take:3"]


async def test_an_urgent_case_goes_before_waiting_ones_and_the_person_learns_their_place(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await open_case(stack, chat_id=801)
    await open_case(stack, chat_id=802)
    await open_case(stack, chat_id=803, text=URGENT)
    stack.new_to(803)
    await stack.write("/lawyer", chat_id=803)
    expected = stack.tr("Your case #{case} is in the queue for a lawyer: you are number {position}.")
    assert expected.format(case=3, position=1) in stack.text_to(803)
    await stack.write("/lawyer", chat_id=802)
    stack.new_to(802)
    await stack.write("/lawyer", chat_id=802)
    assert expected.format(case=2, position=3) in stack.text_to(802)
