"""A relay's delivery state on Telegram: "sent" once the Bot API took it, "failed" once the tries ran out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.handoff.outbox import MAX_ATTEMPTS
from bot.storage.handoff_tables import RelayRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, HandoffStack
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio


async def _answers(stack: HandoffStack) -> list[tuple[str | None, str, int | None]]:
    async with record(stack.app)() as session:
        query = select(RelayRow).where(RelayRow.direction == "to_user", RelayRow.kind == "message")
        return [
            (r.delivery, r.status, r.error_code) for r in (await session.execute(query.order_by(RelayRow.id))).scalars()
        ]


async def test_telegram_answers_end_at_sent_or_failed(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.press("take:1", chat_id=LAWYER_A)
    await stack.write("Приходите завтра", chat_id=LAWYER_A)
    assert await _answers(stack) == [("sent", "sent", None)], "bots get no delivered/read receipts"

    stack.api.fail_next("sendMessage", status=403)  # the person blocked the bot
    await stack.write("Вы меня слышите?", chat_id=LAWYER_A)
    assert (await _answers(stack))[-1] == (None, "pending", None), "stored, not yet taken: shown as queued"
    for _ in range(MAX_ATTEMPTS - 1):  # bounded: one try per sweep, each after its backoff
        stack.api.fail_next("sendMessage", status=403)
        stack.clock.advance(hours=2)
        await stack.app.handoff.worker.run_once()
    assert (await _answers(stack))[-1] == ("failed", "failed", None)
    assert stack.tr(
        "Pana could not deliver your message to the person in case #{case}. They may have blocked "
        "the bot or deleted their data."
    ).format(case=1) in stack.text_to(LAWYER_A)
