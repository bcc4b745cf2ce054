"""The lawyers' desk gaps of issue 13, on the real stack: the card again on /take N, notes by the holder only,
a forged consent button in the lawyers' group, and an update that keeps failing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.storage.handoff_tables import CaseNoteRow, CaseRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, LAWYER_B, LAWYERS_GROUP, SECRET, USER, HandoffStack, _update_ids
from tests.handoff.test_flow import open_case
from tests.telegram.fake_bot_api import button_press, private_message, signed

pytestmark = pytest.mark.asyncio


async def test_take_again_resends_the_card_of_ones_own_case(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write("Меня задержала полиция, что делать?")
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    first = stack.text_to(LAWYER_A)
    card_title = stack.tr("Case #{case} is yours.").format(case=1)
    assert card_title in first
    # As after a crash between taking the case and sending its card: the lawyer asks again.
    await stack.write("/take 1", chat_id=LAWYER_A)
    again = stack.text_to(LAWYER_A)
    assert stack.tr("Case #{case} is already yours.").format(case=1) in again
    assert card_title in again and "Меня задержала полиция" in again, "the whole card, from the record"


async def test_only_the_lawyer_holding_the_case_can_note_it(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.add_lawyer(LAWYER_B, "Dana", ("ru",))
    await open_case(stack)
    await stack.write("/note 1 written while it waits", chat_id=LAWYER_B)
    await stack.write("/take 1", chat_id=LAWYER_A)
    stack.new_to(LAWYER_B)
    await stack.write("/note 1 someone else's case", chat_id=LAWYER_B)
    assert stack.tr("Case #{case} is not yours (any more). /mine lists your cases.").format(case=1) in stack.text_to(
        LAWYER_B
    )
    await stack.write("/note 1 called the family", chat_id=LAWYER_A)
    async with record(stack.app)() as session:
        notes = (await session.execute(select(CaseNoteRow.text))).scalars().all()
    assert notes == ["called the family"]


async def test_a_forged_consent_button_in_the_lawyers_group_opens_no_case(build_stack: object) -> None:
    stack: HandoffStack = await build_stack(group_chat_id=LAWYERS_GROUP)  # type: ignore[operator]
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    # A group member presses a consent button in the group: signed for the group, or copied from a person's chat.
    await stack.press("case:consent:-:a", chat_id=LAWYER_B, in_chat=LAWYERS_GROUP)
    copied = button_press(next(_update_ids), signed("case:consent:-:a", USER), chat_id=LAWYER_B)
    copied["callback_query"]["message"]["chat"] = {"id": LAWYERS_GROUP, "type": "supergroup", "title": "Lawyers"}
    await stack.post(copied)
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0
    assert stack.new_to(LAWYERS_GROUP) == [], "nothing announced, nothing said in the group"


async def test_an_update_that_keeps_failing_is_acknowledged_with_an_apology(stack: HandoffStack) -> None:
    update = private_message(next(_update_ids), "Здравствуйте", chat_id=USER)
    attempts = stack.app.settings.telegram.max_update_attempts
    for _ in range(attempts):
        stack.api.fail_next("sendMessage", status=400)  # Telegram refuses the reply every time
    statuses = []
    for _ in range(attempts):
        response = await stack.client.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        statuses.append(response.status)
    assert statuses == [500] * (attempts - 1) + [200], "redelivered a few times, then acknowledged, never looped"
    apology = stack.tr(
        "Sorry, something went wrong with your last message and I could not answer it. "
        "Please write it again in other words, or press /menu."
    )
    assert stack.text_to(USER).endswith(apology)
