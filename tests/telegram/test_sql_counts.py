"""What one Telegram update asks of the database and of SQLAlchemy, held to a ceiling (tests/sql_counts.py).

Ceilings, not exact figures: a count that grows fails here; one that shrinks is lowered in the same commit.
Measured after the same kinds of update ran once for another person, so the statement cache is warm, as in
a serving process.
"""

from __future__ import annotations

import pytest

from bot.storage import lawyer_roster
from tests.sql_counts import SqlCounts, app_engines, counting
from tests.telegram.conftest import TelegramStack
from tests.telegram.fake_bot_api import button_press, private_message, signed

pytestmark = pytest.mark.asyncio

# A question's statements on the driver (bot/storage/driver.py) at least: accept's 3-5, the decision's 2-3, the mark.
DRIVER_STATEMENTS = 6

# Ceilings per update: statements, pool checkouts, commits, ORM objects loaded, expressions built at call time.
# Statements: the same on both databases (relaxed writes run on connections relaxed for life, with no SET LOCAL of
# their own: bot/storage/commits.py). Commits: SQLite's; PostgreSQL's "answered" mark commits by itself (autocommit).
QUESTION_OF_A_NEW_PERSON = {"statements": 10, "checkouts": 4, "commits": 3, "orm_loads": 0, "expressions": 0}
QUESTION = {"statements": 7, "checkouts": 4, "commits": 3, "orm_loads": 0, "expressions": 0}
BUTTON_PRESS = {"statements": 6, "checkouts": 3, "commits": 3, "orm_loads": 0, "expressions": 0}


@pytest.fixture(autouse=True)
def _roster_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lawyers' roster is read again every few seconds: not within the counted updates."""
    monkeypatch.setattr(lawyer_roster, "ROSTER_MAX_AGE_SECONDS", 3600.0)


async def _counted(stack: TelegramStack, update: dict, monkeypatch: pytest.MonkeyPatch) -> SqlCounts:  # type: ignore[type-arg]
    before = len(stack.api.sent("sendMessage"))
    with counting(app_engines(stack.app), monkeypatch) as counts:
        assert (await stack.post(update)).status == 200
        await stack.api.wait_for("sendMessage", before + 1)  # the webhook answers once the reply was sent
    return counts


def _question(update_id: int, chat_id: int) -> dict:  # type: ignore[type-arg]
    return private_message(update_id, "How do I apply for asylum?", chat_id=chat_id, language="en")


def _press(update_id: int, chat_id: int) -> dict:  # type: ignore[type-arg]
    return button_press(update_id, signed("topic:asylum_rejected", chat_id), chat_id=chat_id, language="en")


async def test_a_question_and_a_button_press_cost_no_more_sql_than_counted(
    stack: TelegramStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for update in (_question(1, 700), _question(2, 700), _press(3, 700)):  # a process's first updates compile
        await _counted(stack, update, monkeypatch)
    new_person = await _counted(stack, _question(4, 701), monkeypatch)
    returning = await _counted(stack, _question(5, 701), monkeypatch)
    press = await _counted(stack, _press(6, 701), monkeypatch)
    await stack.app.handoff.lawyers.add(9001, "Aigerim", ("en",))  # topic answers now say when lawyers work
    await _counted(stack, _question(7, 700), monkeypatch)
    with_a_lawyer = await _counted(stack, _question(8, 701), monkeypatch)
    print(
        f"\ntelegram: new person {new_person.line()}\nreturning {returning.line()}\nbutton {press.line()}"
        f"\nwith a lawyer registered {with_a_lawyer.line()}"
    )
    for counts, ceiling in (
        (new_person, QUESTION_OF_A_NEW_PERSON),
        (returning, QUESTION),
        (press, BUTTON_PRESS),
        (with_a_lawyer, QUESTION),
    ):
        assert all(counts[key] <= most for key, most in ceiling.items()), f"{counts.line()}, ceiling {ceiling}"
        assert DRIVER_STATEMENTS <= counts["driver"] <= counts["statements"], "the driver's are among those counted"
