"""Claiming is atomic: of several lawyers (or processes) taking a case at once, exactly one gets it."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest
from sqlalchemy import select

from bot.handoff.desk import TAKE_ANSWERS, TakeResult
from bot.records.cases import NewCase, Reason
from bot.storage.handoff_tables import AuditRow, CaseRow
from tests.conftest import REPO, record
from tests.handoff.conftest import LAWYER_A, LAWYER_B, LAWYERS_GROUP, HandoffStack, StackFactory
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio


async def _cases(stack: HandoffStack, count: int) -> list[int]:
    """Open `count` waiting cases directly in the record (each for its own person)."""
    ids = []
    for n in range(count):
        contact = await stack.app.store.get_or_create_contact("telegram", str(90_000 + n))
        case = await stack.app.handoff.cases.open(
            NewCase(contact.id, "ru", None, False, Reason.ASKED, ""), stack.clock()
        )
        assert case is not None
        ids.append(case.id)
    return ids


async def test_two_lawyers_pressing_take_at_once_give_one_owner(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("en",))
    await open_case(stack)
    await asyncio.gather(
        stack.press("take:1", chat_id=LAWYER_A, in_chat=LAWYERS_GROUP),
        stack.press("take:1", chat_id=LAWYER_B, in_chat=LAWYERS_GROUP),
    )
    async with record(stack.app)() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
        took = (await session.execute(select(AuditRow).where(AuditRow.action == "took"))).scalars().all()
    lawyers = await stack.app.handoff.lawyers.all()
    owner = next(lawyer for lawyer in lawyers if lawyer.id == case.lawyer_id)
    loser = next(lawyer for lawyer in lawyers if lawyer.id != case.lawyer_id)
    assert case.status == "assigned" and len(took) == 1
    answers = stack.callback_answers()
    assert TAKE_ANSWERS[TakeResult.TAKEN].format(case=1) in answers
    assert TAKE_ANSWERS[TakeResult.TAKEN_BY_OTHER].format(case=1) in answers, "the other is told it is taken"
    owner_texts = [params["text"] for _, params in stack.messages_to(owner.telegram_id)]
    loser_texts = [params["text"] for _, params in stack.messages_to(loser.telegram_id)]
    assert any(text.startswith("Case #1 is yours.") for text in owner_texts), "the card went to the owner"
    assert not any(text.startswith("Case #1 is yours.") for text in loser_texts)
    assert TAKE_ANSWERS[TakeResult.TAKEN_BY_OTHER].format(case=1) in loser_texts


async def test_many_simultaneous_claims_each_have_exactly_one_winner(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("en",))
    ids = await _cases(stack, 20)
    a, b = await stack.app.handoff.lawyers.all()
    cases = stack.app.handoff.cases
    for case_id in ids:
        results = await asyncio.gather(
            cases.claim(case_id, a.id, stack.clock()), cases.claim(case_id, b.id, stack.clock())
        )
        assert sorted(results) == [False, True]


@pytest.mark.postgres
async def test_claims_through_two_engines_on_one_postgres_database(
    build_stack: StackFactory, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two processes share one database only on PostgreSQL")
    first, second = await build_stack(), await build_stack()
    await first.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await first.add_lawyer(LAWYER_B, "Dana", ("en",))
    ids = await _cases(first, 30)
    a, b = await first.app.handoff.lawyers.all()
    for case_id in ids:
        results = await asyncio.gather(
            first.app.handoff.cases.claim(case_id, a.id, first.clock()),
            second.app.handoff.cases.claim(case_id, b.id, second.clock()),
        )
        assert sorted(results) == [False, True], f"case {case_id}"


@pytest.mark.postgres
async def test_claims_from_two_os_processes_on_one_postgres_database(stack: HandoffStack, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two processes share one database only on PostgreSQL")
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("en",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("en",))
    ids = await _cases(stack, 40)
    a, b = await stack.app.handoff.lawyers.all()
    start_at = time.time() + 3  # both processes are connected by then and start claiming together
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.handoff.claimer",
            database_url,
            str(lawyer.id),
            str(start_at),
            *map(str, ids),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for lawyer in (a, b)
    ]
    outputs = await asyncio.gather(*(asyncio.wait_for(p.communicate(), timeout=60) for p in processes))
    won = [set(json.loads(out)) for out, err in outputs]
    assert all(p.returncode == 0 for p in processes), [err.decode()[-2000:] for _, err in outputs]
    assert won[0] | won[1] == set(ids), "every case has an owner"
    assert not won[0] & won[1], "no case has two"
    async with record(stack.app)() as session:
        owners = dict((await session.execute(select(CaseRow.id, CaseRow.lawyer_id))).tuples().all())
    assert {case_id for case_id, owner in owners.items() if owner == a.id} == won[0]
