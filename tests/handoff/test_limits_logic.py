"""The case queue's limits on in-memory stores (fast): the daily cap, and announcing only what went out."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.handoff.announce import ANNOUNCE_LEASE, NEVER
from tests.handoff.test_queue_logic import LAWYER, PERSON, Queue, catalog, queue  # noqa: F401 (fixtures)

pytestmark = pytest.mark.fast


async def open_and_close(queue: Queue) -> str | None:
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    opened = await queue.queue.choose(PERSON, "en", asked.confirm[0])
    if opened.case_id is not None and opened.case_id.isdigit():
        lawyer = await queue.lawyers.active_by_telegram_id(LAWYER)
        assert lawyer is not None
        case_id = int(opened.case_id)
        assert await queue.cases.claim(case_id, lawyer.id, queue.clock())
        assert await queue.cases.close(case_id, lawyer.id, "advised", queue.clock())
    return opened.case_id


async def test_a_person_opens_at_most_three_cases_a_day_and_is_told_where_help_is(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    assert [await open_and_close(queue) for _ in range(3)] == ["1", "2", "3"]
    announced = len(queue.notifier.sent)
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    refused = await queue.queue.choose(PERSON, "en", asked.confirm[0])
    assert refused.case_id is None and len(queue.cases.cases) == 3
    said = "\n".join(reply.text for reply in refused.replies)
    assert "several times today" in said and "112" in said, "no new case, but the emergency numbers and contacts"
    assert len(queue.notifier.sent) == announced, "the lawyers are not flooded"
    queue.clock.advance(hours=24, minutes=1)
    assert await open_and_close(queue) == "4", "the next day the person may ask again"


async def test_a_case_is_marked_announced_only_after_the_announcement_went_out(queue: Queue) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    queue.notifier.fail = True  # Telegram refuses: nothing went out
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=True)
    assert asked.confirm is not None
    await queue.queue.choose(PERSON, "en", asked.confirm[0])
    assert queue.cases.cases[1].announced_at is None
    queue.notifier.fail = False
    assert await queue.announcer.announce_due() == 1, "the next sweep announces it"
    assert queue.cases.cases[1].announced_at is not None


async def test_a_process_dying_while_announcing_leaves_the_case_to_the_next_sweep_after_its_lease(
    queue: Queue,
) -> None:
    await queue.lawyers.add(LAWYER, "Aigerim", ("en",))
    queue.notifier.fail = True
    asked = await queue.queue.request(PERSON, "en", topic=None, urgent=False)
    assert asked.confirm is not None
    await queue.queue.choose(PERSON, "en", asked.confirm[0])
    queue.notifier.fail = False
    now = queue.clock()
    # Another process took the lease and died before sending (kill -9 during the announcement).
    assert await queue.cases.claim_announcement(1, NEVER, now, now + ANNOUNCE_LEASE)
    assert await queue.announcer.announce_due() == 0, "not twice at once"
    queue.clock.advance(seconds=ANNOUNCE_LEASE.total_seconds() + 1)
    assert await queue.announcer.announce_due() == 1
    assert queue.cases.cases[1].announced_at == queue.clock()
    assert await queue.announcer.announce_due() == 0, "announced once"
    assert dt.timedelta(minutes=10) < ANNOUNCE_LEASE
