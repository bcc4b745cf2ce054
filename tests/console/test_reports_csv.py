"""The numbers' CSV export on the running console: topics per ISO week, small cells hidden, never any text."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select, update

from bot.records.staff import Role
from bot.storage.tables import MessageRow
from tests.conftest import record
from tests.console.conftest import ConsoleStack

QUESTION = "Как получить статус беженца в Казахстане?"


async def test_the_csv_has_topics_per_week_with_small_cells_hidden(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("sara", Role.SUPERVISOR)
    await stack.write(QUESTION)
    async with record(stack.app)() as session:
        # the console counts by its own clock; the stand-in wrote with the wall clock
        await session.execute(update(MessageRow).values(created_at=stack.clock()))
        await session.commit()
        intent = (await session.execute(select(MessageRow.intent).where(MessageRow.direction == "in"))).scalar()
    assert intent and intent != "out_of_scope", "the question was classified as a topic"
    sara = await stack.staff("sara")
    async with sara.http.get(stack.base_url + "/console/reports.csv") as response:
        assert response.status == 200 and response.content_type == "text/csv"
        body = await response.text()
    assert QUESTION not in body
    rows = list(csv.reader(io.StringIO(body)))
    monday = (stack.clock().date() - dt.timedelta(days=stack.clock().weekday())).isoformat()
    per_week = [row for row in rows if row[0] == "questions_by_topic_week"]
    title = stack.desk.topic_title(intent, "en")
    assert title != intent, "the topic has a title in content/menu.yml"
    assert ["questions_by_topic_week", monday, intent, "hidden", title] in per_week, "one question: hidden, not 1"
    assert len([row for row in per_week if row[2] == intent]) == 12, "every one of the 12 weeks"
    assert all(row[3] == "hidden" or int(row[3]) >= 5 for row in per_week)
