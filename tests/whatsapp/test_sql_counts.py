"""What one WhatsApp question asks of the database and of SQLAlchemy, its outbox drained, held to a ceiling.

Ceilings, not exact figures (tests/sql_counts.py): a count that grows fails here; one that shrinks is lowered
in the same commit. Measured after the same kinds of message ran once for another person (a warm cache).
"""

from __future__ import annotations

import pytest

from bot.storage import lawyer_roster
from tests.sql_counts import SqlCounts, app_engines, counting
from tests.whatsapp.conftest import WhatsAppStack

pytestmark = pytest.mark.asyncio

# A question's statements on the driver (bot/storage/driver.py) at least: accept's 3-5, the decision's 2-3 (the
# "answered" mark commits with the outbox's rows, in SQLAlchemy).
DRIVER_STATEMENTS = 5

# Ceilings per question: statements, pool checkouts, commits, ORM objects loaded, expressions built at call time.
# Statements: the same on both databases (relaxed transactions run on connections relaxed for life, with no
# SET LOCAL of their own: bot/storage/commits.py). The drain: one claim (one statement), then per message Twilio's
# id stored and the next claimed in one transaction (the last finds nothing). Expressions: every statement is built
# once (bot/storage/whatsapp.py, reply_statements.py); one built at call time, or one SQLAlchemy cannot cache (it
# compiles it again), counts here.
QUESTION_OF_A_NEW_PERSON = {"statements": 17, "checkouts": 6, "commits": 5, "orm_loads": 0, "expressions": 0}
QUESTION = {"statements": 14, "checkouts": 6, "commits": 5, "orm_loads": 0, "expressions": 0}


@pytest.fixture(autouse=True)
def _roster_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lawyers' roster is read again every few seconds: not within the counted messages."""
    monkeypatch.setattr(lawyer_roster, "ROSTER_MAX_AGE_SECONDS", 3600.0)


async def _counted(stack: WhatsAppStack, user: str, monkeypatch: pytest.MonkeyPatch) -> SqlCounts:
    before = len(await stack.replies(0, user=user))
    with counting(app_engines(stack.app), monkeypatch) as counts:
        assert (await stack.send("How do I apply for asylum?", user=user)).status == 200
        await stack.replies(before + 1, user=user)
        await stack.runtime.outbox.settled()  # the outbox drains after the webhook answered
    return counts


async def test_a_question_costs_no_more_sql_than_counted(stack: WhatsAppStack, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):  # a process's first messages compile its statements
        await _counted(stack, "+77010000001", monkeypatch)
    new_person = await _counted(stack, "+77010000002", monkeypatch)
    returning = await _counted(stack, "+77010000002", monkeypatch)
    print(f"\nwhatsapp: new person {new_person.line()}\nreturning {returning.line()}")
    for counts, ceiling in ((new_person, QUESTION_OF_A_NEW_PERSON), (returning, QUESTION)):
        assert all(counts[key] <= most for key, most in ceiling.items()), f"{counts.line()}, ceiling {ceiling}"
        assert DRIVER_STATEMENTS <= counts["driver"] <= counts["statements"], "the driver's are among those counted"


# A status callback: its delivery read (and locked), one UPDATE. Commits: one (durable: a final status clears the
# text and number). PostgreSQL and SQLite alike (no SET LOCAL).
STATUS_CALLBACK = {"statements": 2, "checkouts": 1, "commits": 1, "orm_loads": 0, "expressions": 0}


async def test_a_status_callback_costs_no_more_sql_than_counted(
    stack: WhatsAppStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = []
    for user in ("+77010000003", "+77010000004"):  # the first compiles the statements
        await _counted(stack, user, monkeypatch)
        sent = stack.api.to(f"whatsapp:{user}")[-1]
        for status in ("sent", "delivered"):
            with counting(stack.app.engine, monkeypatch) as counts:
                assert (await stack.status(sent["StatusCallback"], sent["Sid"], status)).status == 204
            figures.append(counts)
    print("\nstatus callbacks:", " | ".join(counts.line() for counts in figures[2:]))
    for counts in figures[2:]:
        assert all(counts[key] <= most for key, most in STATUS_CALLBACK.items()), counts.line()
