"""The optional city: one tap (or skip) after a non-urgent case is open, sealed, on the person's own case only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from bot.core import payloads
from bot.handoff.notices import city_payload, consent_payload
from bot.records.cases import CITIES, Reason
from bot.storage.handoff_tables import CaseRow
from tests.conftest import record
from tests.handoff.conftest import LAWYER_A, USER, HandoffStack
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio
OTHER_USER = 778


def _city_buttons(stack: HandoffStack, params: dict[str, object]) -> list[str]:
    return [p for p in stack.buttons(params) if p.startswith("case:city:")]


async def _stored_city(stack: HandoffStack, case_id: int = 1) -> tuple[str | None, str | None]:
    """The city as the record hands it out, and as the database holds it (sealed)."""
    async with record(stack.app)() as session:
        row = await session.get(CaseRow, case_id)
        raw = (await session.execute(text("SELECT city FROM cases WHERE id = :id"), {"id": case_id})).scalar()
    return (row.city if row else None), raw


async def test_the_city_is_asked_once_the_case_is_open_and_stored_sealed(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    opened = stack.new_to(USER)
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 1, "open before any city"
    question = opened[-1]
    assert question["text"] == stack.tr(
        "Optional: in which city are you? It helps us find a lawyer near you. You can skip this."
    )
    buttons = _city_buttons(stack, question)
    assert buttons == [city_payload(1, city) for city in (*CITIES, "skip")]
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[:3] == ["Алматы", "Астана", "Шымкент"] and labels[-1] == stack.tr("Skip")

    await stack.press(city_payload(1, "almaty"))
    thanks = stack.new_to(USER)[-1]
    assert thanks["text"] == stack.tr("Thank you. While you wait, you can keep asking me questions.")
    assert any(p.startswith("menu:") for p in stack.buttons(thanks)), "the menu follows, nothing else is asked"
    city, raw = await _stored_city(stack)
    assert city == "almaty" and raw is not None and "almaty" not in raw, "sealed at rest"

    await stack.press("take:1", chat_id=LAWYER_A)
    card = stack.text_to(LAWYER_A)
    assert stack.tr("City: {city}").format(city="Алматы") in card


async def test_skipping_stores_nothing_and_nobody_sets_another_persons_city(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.press(city_payload(1, "skip"))
    assert await _stored_city(stack) == (None, None)

    await open_case(stack, chat_id=OTHER_USER)
    await stack.press(city_payload(1, "astana"), chat_id=OTHER_USER)  # case 1 is not theirs
    await stack.press(city_payload(2, "moscow"), chat_id=OTHER_USER)  # not a city of the list
    assert (await _stored_city(stack, 1))[0] is None and (await _stored_city(stack, 2))[0] is None


async def test_an_urgent_case_is_not_asked_for_a_city(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await stack.write("/start")
    stack.new_to(USER)
    await stack.press(consent_payload("detention_deportation", Reason.URGENT))
    opened = stack.new_to(USER)
    async with record(stack.app)() as session:
        assert (await session.execute(select(CaseRow.urgent))).scalar_one() is True
    assert not [p for params in opened for p in _city_buttons(stack, params)]


async def test_deleting_my_data_erases_the_city_with_the_case(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.press(city_payload(1, "shymkent"))
    await stack.write("/forget")
    await stack.press(payloads.DELETE_YES)
    async with record(stack.app)() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0


CLOSED_TOO_LATE = (
    "This case is already closed, so I did not save your city. If you need help again, ask for a lawyer at any time."
)


async def test_a_city_pressed_after_the_case_closed_is_not_stored_and_not_thanked(stack: HandoffStack) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("ru",))
    await open_case(stack)
    await stack.write("/take 1", chat_id=LAWYER_A)
    await stack.write("/close 1 advised", chat_id=LAWYER_A)
    stack.new_to(USER)

    await stack.press(city_payload(1, "almaty"))  # the button from when the case opened, still on screen
    reply = stack.new_to(USER)[-1]
    assert reply["text"] == stack.tr(CLOSED_TOO_LATE)
    assert reply["text"] != stack.tr("Thank you. While you wait, you can keep asking me questions.")
    assert payloads.LAWYER in stack.buttons(reply), "the way to ask a lawyer again is one tap away"
    assert await _stored_city(stack) == (None, None)

    await stack.press(city_payload(1, "skip"))  # skipping a closed case's question: no "while you wait" either
    assert stack.new_to(USER)[-1]["text"] == stack.tr(CLOSED_TOO_LATE)


async def test_a_city_pressed_after_the_case_closed_is_answered_in_the_persons_language(
    stack: HandoffStack,
) -> None:
    await stack.add_lawyer(LAWYER_A, "Aigerim", ("kk",))
    await stack.write("Маған заңгер керек")
    await stack.write("иә")
    await stack.write("/take 1", chat_id=LAWYER_A)
    await stack.write("/close 1 advised", chat_id=LAWYER_A)
    stack.new_to(USER)

    await stack.press(city_payload(1, "shymkent"))
    text = stack.new_to(USER)[-1]["text"]
    assert text == stack.tr(CLOSED_TOO_LATE, "kk") and text != CLOSED_TOO_LATE, "in Kazakh, translated"
    assert await _stored_city(stack) == (None, None)
