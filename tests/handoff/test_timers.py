"""Working hours, re-announcing cases that wait too long, and returning cases a lawyer left idle."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.storage.handoff_tables import CaseRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, LAWYER_B, LAWYERS_GROUP, USER, StackFactory
from tests.handoff.test_flow import open_case
from tests.handoff.test_queue import URGENT

pytestmark = pytest.mark.asyncio
SUNDAY_NOON_ALMATY = dt.datetime(2026, 11, 29, 7, 0, tzinfo=dt.UTC)


async def test_outside_working_hours_the_person_learns_when_and_who_helps_now(build_stack: StackFactory) -> None:
    stack = await build_stack(hours="Mon-Fri 09:00-18:00")
    stack.clock.now = SUNDAY_NOON_ALMATY
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack, text=URGENT)
    told = stack.text_to(USER)
    monday = stack.tr("Monday")
    assert f"{monday} 09:00" in told, "when to expect an answer"
    header = stack.tr(
        "In danger now? Call 112, free from any phone, day and night (also 102 police, 103 ambulance, "
        "101 fire). Pana cannot send help. Where to get legal help:"
    )
    assert header in told, "the emergency contacts again, after the case opened"
    assert "#1" in stack.text_to(LAWYER_A), "the case is announced at once all the same"


async def test_a_case_waiting_too_long_is_announced_again_during_working_hours(build_stack: StackFactory) -> None:
    stack = await build_stack(reannounce_minutes=30, group_chat_id=LAWYERS_GROUP)
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    assert stack.buttons(stack.new_to(LAWYERS_GROUP)[-1]) == ["take:1"], "announced in the lawyers' group"
    assert stack.new_to(LAWYER_A) == [], "not privately when a group is set"
    stack.clock.advance(minutes=10)
    await stack.app.handoff.worker.run_once()
    assert stack.new_to(LAWYERS_GROUP) == []
    stack.clock.advance(minutes=25)
    await stack.app.handoff.worker.run_once()
    assert stack.buttons(stack.new_to(LAWYERS_GROUP)[-1]) == ["take:1"]
    await stack.app.handoff.worker.run_once()
    assert stack.new_to(LAWYERS_GROUP) == [], "once per interval, not on every sweep"


async def test_an_idle_assigned_case_returns_to_the_queue(build_stack: StackFactory) -> None:
    stack = await build_stack(idle_return_hours=2)
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("ru",))
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    stack.clock.advance(hours=1)
    await stack.write("Скоро отвечу", chat_id=LAWYER_A)  # activity: the clock starts again
    stack.clock.advance(hours=1, minutes=30)
    await stack.app.handoff.worker.run_once()
    async with record(stack.app)() as session:
        assert (await session.execute(select(CaseRow.status))).scalar_one() == "assigned"
    stack.new_to(USER), stack.new_to(LAWYER_A), stack.new_to(LAWYER_B)

    stack.clock.advance(hours=1)
    await stack.app.handoff.worker.run_once()
    async with record(stack.app)() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
    assert (case.status, case.lawyer_id) == ("waiting", None)
    assert "#1" in stack.text_to(LAWYER_A), "the lawyer is told"
    assert "#1" in stack.text_to(USER), "the person is told"
    assert stack.buttons(stack.new_to(LAWYER_B)[-1]) == ["take:1"], "and it is announced again"


async def test_an_announcement_no_lawyer_received_is_tried_again_at_the_next_sweep(build_stack: StackFactory) -> None:
    stack = await build_stack(reannounce_minutes=60)
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write("Мне нужен юрист")
    consent = next(p for params in stack.new_to(USER) for p in stack.buttons(params) if p.startswith("case:consent:"))
    stack.api.fail_next("sendMessage", status=403)  # the lawyer's chat refuses while the case opens...
    await stack.press(consent)
    assert stack.new_to(LAWYER_A) == []
    async with record(stack.app)() as session:
        assert (await session.execute(select(CaseRow.announced_at))).scalar() is None, "not marked announced"
    await stack.app.handoff.worker.run_once()  # ...and back a moment later: not an hour later
    assert stack.buttons(stack.new_to(LAWYER_A)[-1]) == ["take:1"]
