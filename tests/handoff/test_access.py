"""Only registered, active lawyers see or act on cases; everyone else gets the normal user experience."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.handoff_tables import CaseRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, LAWYER_B, LAWYERS_GROUP, STRANGER, USER, HandoffStack
from tests.handoff.test_flow import QUESTION, open_case

pytestmark = pytest.mark.asyncio


async def _status(stack: HandoffStack) -> str:
    async with record(stack.app)() as session:
        return (await session.execute(select(CaseRow.status))).scalar_one()


@pytest.mark.parametrize("command", ["/queue", "/take 1", "/mine", "/close 1 done", "/note 1 hi", "/release 1"])
async def test_a_stranger_writing_lawyer_commands_is_an_ordinary_user(stack: HandoffStack, command: str) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write(QUESTION)
    await open_case(stack)
    await stack.write(command, chat_id=STRANGER, language="en")
    answer = stack.new_to(STRANGER)
    assert answer, "they get an answer, as any user does"
    assert all("#1" not in params["text"] and QUESTION not in params["text"] for params in answer)
    assert any(p.startswith("menu:") for params in answer for p in stack.buttons(params)), "the user menu"
    assert await _status(stack) == "waiting"


async def test_a_stranger_pressing_take_takes_nothing(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.press("take:1", chat_id=STRANGER)
    await stack.press("take:1", chat_id=STRANGER, in_chat=LAWYERS_GROUP)
    assert await _status(stack) == "waiting"
    assert all("#1" not in params["text"] for params in stack.new_to(STRANGER))
    assert stack.new_to(LAWYERS_GROUP) == [], "nothing is said in the group"


async def test_a_removed_lawyer_is_an_ordinary_user_again_and_their_cases_go_back(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("ru",))
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    stack.new_to(LAWYER_B)
    stack.new_to(USER)
    removed = await stack.app.handoff.desk.remove_lawyer(LAWYER_A)
    assert removed is not None and removed[1] == 1
    assert await _status(stack) == "waiting"
    assert "#1" in stack.text_to(USER), "the person learns their case is back in the queue"
    await stack.app.handoff.worker.run_once()
    assert stack.buttons(stack.new_to(LAWYER_B)[-1]) == ["take:1"], "announced again to the others"

    stack.new_to(LAWYER_A)
    await stack.write("/take 1", chat_id=LAWYER_A)
    await stack.press("take:1", chat_id=LAWYER_A)
    assert await _status(stack) == "waiting"
    assert all("#1" not in params["text"] for params in stack.new_to(LAWYER_A))


async def test_lawyers_can_use_the_user_commands(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await stack.write("/privacy", chat_id=LAWYER_A, language="en")
    assert "What Pana keeps" in stack.text_to(LAWYER_A)


async def test_a_lawyer_without_a_case_is_told_how_to_get_one(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await stack.write("hello, is anyone there?", chat_id=LAWYER_A, language="en")
    assert "/take" in stack.text_to(LAWYER_A)
    assert stack.new_to(USER) == []
