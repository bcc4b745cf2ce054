"""A restart in the middle of a case loses nothing: cases keep their state, undelivered relays go out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.records.cases import NewCase, Reason, RelayKind
from bot.storage.handoff_tables import RelayRow
from tests.conftest import record
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
    async with record(before.app)() as session:
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
    async with record(after.app)() as session:
        statuses = set((await session.execute(select(RelayRow.status))).scalars().all())
    assert statuses == {"sent"}


async def test_relays_only_another_process_can_send_do_not_starve_the_rest(build_stack: StackFactory) -> None:
    stack = await build_stack()
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    stack.new_to(USER)
    # A person on a channel this process does not serve (say, WhatsApp handled elsewhere), with a long backlog.
    elsewhere = await stack.app.store.get_or_create_contact("whatsapp", "+70000000000")
    case = await stack.app.handoff.cases.open(NewCase(elsewhere.id, "ru", None, False, Reason.ASKED, ""), stack.clock())
    assert case is not None
    for n in range(120):
        await stack.app.handoff.outbox.to_user(case, RelayKind.NOTICE, f"waiting {n}")
    stack.api.fail_next("sendMessage", status=403)
    await stack.write("Ответ от юриста", chat_id=LAWYER_A, reply_to=stack.last_id_to(LAWYER_A))
    assert stack.new_to(USER) == []
    stack.clock.advance(minutes=5)
    await stack.app.handoff.worker.run_once()
    assert stack.text_to(USER).endswith("Ответ от юриста"), "the reachable relay went out despite the backlog"
