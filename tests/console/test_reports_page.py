"""The numbers page marks a hidden cell the same way in its charts and its tables, under one legend; a chart with
nothing to show says so in words."""

from __future__ import annotations

from bot.records.staff import Role
from tests.console.conftest import ConsoleStack

LEGEND = "A count under 5 is hidden (shown as “*”)"


async def test_charts_and_tables_mark_a_hidden_cell_alike(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("sara", Role.SUPERVISOR)
    sara = await stack.staff("sara")
    async with sara.http.get(stack.base_url + "/console/reports") as response:
        assert response.status == 200
        page = await response.text()
    assert page.count(LEGEND) == 1, "one legend for the whole page"
    # No questions and no cases yet: every week is hidden (0 is under 5), so neither chart has anything to draw.
    assert "<svg" not in page
    assert page.count('<p class="chart-empty">Nothing to chart: every week&#39;s count is hidden.</p>') == 2
    tables = page.split("Lawyer requests per week</h2>")[-1]
    assert '<abbr title="hidden">*</abbr>' in tables
    assert "&lt;5" not in tables, "the waiting and closing times are marked as every hidden cell is"
