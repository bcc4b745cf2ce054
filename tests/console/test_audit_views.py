"""The audit log records every look at a page, but a live page refreshing itself is one look, not hundreds."""

from __future__ import annotations

from sqlalchemy import select

from bot.console.views import LIVE_HEADER
from bot.records.staff import Role
from bot.storage.handoff_tables import AuditRow
from tests.conftest import record
from tests.console.conftest import ConsoleStack, Staff
from tests.handoff.test_flow import open_case


async def _count(stack: ConsoleStack, action: str) -> int:
    async with record(stack.app)() as session:
        rows = await session.execute(select(AuditRow.id).where(AuditRow.action == action))
        return len(rows.all())


async def _live_refresh(stack: ConsoleStack, browser: Staff, path: str) -> None:
    async with browser.http.get(stack.base_url + path, headers={LIVE_HEADER: "1"}) as response:
        assert response.status == 200


async def test_live_refreshes_are_one_view_and_actions_are_always_recorded(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER)
    await stack.add_staff("sara", Role.SUPERVISOR)
    await open_case(stack)
    aigerim, sara = await stack.staff("aigerim"), await stack.staff("sara")

    await aigerim.get("/console/cases/1")
    for _ in range(5):
        await _live_refresh(stack, aigerim, "/console/cases/1")
    assert await _count(stack, "viewed_case_state") == 1, "five refreshes of an open page: no new rows"
    await aigerim.get("/console/cases/1")
    assert await _count(stack, "viewed_case_state") == 2, "opening the page again is a new view"

    await aigerim.post("/console/cases/1/take")
    await aigerim.post("/console/cases/1/note", text="first note")
    await aigerim.post("/console/cases/1/note", text="second note")
    assert await _count(stack, "took") == 1 and await _count(stack, "noted") == 2, "actions, every time"
    views = await _count(stack, "viewed_case")
    for _ in range(3):
        await _live_refresh(stack, aigerim, "/console/cases/1")
    assert await _count(stack, "viewed_case") == views
    stack.clock.advance(minutes=11)  # past LIVE_VIEW_REPEAT: a page still open is recorded again
    await _live_refresh(stack, aigerim, "/console/cases/1")
    await _live_refresh(stack, aigerim, "/console/cases/1")
    assert await _count(stack, "viewed_case") == views + 1

    await sara.get("/console/cases")
    listed = await _count(stack, "viewed_cases")
    for _ in range(3):
        await _live_refresh(stack, sara, "/console/cases")
    assert await _count(stack, "viewed_cases") == listed
    await _live_refresh(stack, sara, "/console/cases/1")
    assert await _count(stack, "viewed_case_state") == 3, "another person's or another case's view is its own"
