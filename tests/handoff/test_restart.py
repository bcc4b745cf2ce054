"""A restart in the middle of a case loses nothing: cases keep their state, undelivered relays go out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.handoff_tables import RelayRow
from tests.handoff.conftest import LAWYER_A, USER, StackFactory, stop
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio
OTHER_USER = 778


async def test_restart_mid_case_loses_nothing(build_stack: StackFactory) -> None:
    before = await build_stack()
    await before.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(before)
    await before.write("/take 1", chat_id=LAWYER_A)
    await open_case(before, chat_id=OTHER_USER)  # a second case, still waiting
    before.new_to(LAWYER_A), before.new_to(USER)

    before.api.fail_next("sendMessage", status=403)  # the lawyer's chat is unreachable for a moment
    await before.write("Меня вызывают в полицию завтра")
    assert before.new_to(LAWYER_A) == []
    async with before.app.store._sessions() as session:
        pending = (await session.execute(select(RelayRow).where(RelayRow.status == "pending"))).scalars().all()
    assert [r.text for r in pending] == ["Меня вызывают в полицию завтра"], "stored before it was sent"
    await stop(before)

    after = await build_stack()
    after.seen = dict(before.seen)
    after.clock.advance(minutes=5)
    await after.app.handoff.worker.run_once()
    relayed = after.new_to(LAWYER_A)
    assert [m["text"] for m in relayed] == ["#1: Меня вызывают в полицию завтра"], "retried after the restart"

    await after.write("Возьмите паспорт с собой", chat_id=LAWYER_A, reply_to=after.last_id_to(LAWYER_A))
    assert after.text_to(USER).endswith("Возьмите паспорт с собой"), "the reply still finds its case"
    await after.write("/queue", chat_id=LAWYER_A)
    assert "#2" in after.text_to(LAWYER_A), "the waiting case is still waiting"
    async with after.app.store._sessions() as session:
        statuses = set((await session.execute(select(RelayRow.status))).scalars().all())
    assert statuses == {"sent"}
