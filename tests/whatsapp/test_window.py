"""The 24-hour window: texts sent later go out free-form inside it, after an approved template outside it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import update

from bot.channels.whatsapp.sender import WhatsAppSender
from bot.clock import utc_now
from bot.storage.tables import WhatsAppWindowRow
from tests.conftest import record
from tests.whatsapp.conftest import TEMPLATES, USER, WhatsAppStack

pytestmark = pytest.mark.asyncio

LAWYER_ANSWER = "Юрист ответил: приходите во вторник к 10:00, возьмите паспорт."
SECOND_ANSWER = "И ещё: копию решения тоже возьмите."


async def _last_wrote(stack: WhatsAppStack, ago: dt.timedelta) -> None:
    async with record(stack.app)() as session:
        await session.execute(update(WhatsAppWindowRow).values(last_inbound_at=utc_now() - ago))
        await session.commit()


async def _conversation_started(stack: WhatsAppStack) -> int:
    await stack.send("Как подать на статус беженца?")
    return len(await stack.replies(1))


async def test_text_within_the_window_goes_out_free_form(stack: WhatsAppStack) -> None:
    before = await _conversation_started(stack)
    await _last_wrote(stack, dt.timedelta(hours=23))
    assert await stack.runtime.outbox.send_text(USER, "ru", LAWYER_ANSWER) == "sent"
    bodies = await stack.replies(before + 1)
    assert bodies[before] == LAWYER_ANSWER
    assert "ContentSid" not in stack.api.messages[before]


@pytest.mark.parametrize("ago", [dt.timedelta(hours=25), dt.timedelta(hours=23, minutes=55)])
async def test_text_outside_the_window_waits_and_a_template_invites_a_reply(
    stack: WhatsAppStack, ago: dt.timedelta
) -> None:
    before = await _conversation_started(stack)
    await _last_wrote(stack, ago)
    sender = stack.runtime.outbox
    assert await sender.send_text(USER, "ru", LAWYER_ANSWER) == "held"
    assert await sender.send_text(USER, "ru", SECOND_ANSWER) == "held"
    sent = await stack.api.wait_for(before + 1)
    await sender.settled()
    assert len(stack.api.messages) == before + 1, "one invitation per silence, and no free-form text"
    template = sent[before]
    assert template["ContentSid"] == TEMPLATES["ru"]
    assert "Body" not in template and "MediaUrl" not in template
    assert json.loads(template["ContentVariables"]) == {"1": "1"}

    await stack.send("Здравствуйте")
    bodies = await stack.replies(before + 4)
    assert bodies[before + 1 : before + 3] == [LAWYER_ANSWER, SECOND_ANSWER], "what waited comes first"
    assert bodies[before + 3].startswith("Здравствуйте"), "then the answer to what they wrote"


async def test_template_in_the_contacts_language(stack: WhatsAppStack) -> None:
    await stack.send("Менің құжаттарым жоқ, не істеуім керек?")
    before = len(await stack.replies(1))
    await _last_wrote(stack, dt.timedelta(days=3))
    assert await stack.runtime.outbox.send_text(USER, "kk", "Заңгер жауап берді.") == "held"
    sent = await stack.api.wait_for(before + 1)
    assert sent[before]["ContentSid"] == TEMPLATES["kk"]


async def test_without_a_template_the_text_waits_for_the_contact(stack: WhatsAppStack) -> None:
    before = await _conversation_started(stack)
    await _last_wrote(stack, dt.timedelta(hours=30))
    runtime = stack.runtime
    no_templates = WhatsAppSender(runtime.api, runtime.ledger, status_url="https://pana.example.org/s", templates={})
    assert await no_templates.send_text(USER, "ru", LAWYER_ANSWER) == "held"
    await no_templates.settled()
    await runtime.outbox.settled()
    assert len(stack.api.messages) == before, "nothing may be sent outside the window without a template"
    await stack.send("есть новости?")
    bodies = await stack.replies(before + 2)
    assert bodies[before] == LAWYER_ANSWER


async def test_window_closed_reported_by_twilio_holds_the_text_and_invites(stack: WhatsAppStack) -> None:
    before = await _conversation_started(stack)
    assert await stack.runtime.outbox.send_text(USER, "ru", LAWYER_ANSWER) == "sent"
    await stack.replies(before + 1)
    refused = stack.api.messages[before]
    await _last_wrote(stack, dt.timedelta(hours=25))  # our record was wrong; Twilio knows better
    response = await stack.status(refused["StatusCallback"], refused["Sid"], "failed", "63016")
    assert response.status == 204
    sent = await stack.api.wait_for(before + 2)
    assert sent[before + 1]["ContentSid"] == TEMPLATES["ru"]
    await stack.send("да?")
    bodies = await stack.replies(before + 4)
    assert bodies[before + 2] == LAWYER_ANSWER


async def test_handoff_sender_port_accepts_texts_for_a_contact(stack: WhatsAppStack) -> None:
    before = await _conversation_started(stack)
    contact = await stack.app.store.find_contact("whatsapp", USER)
    assert contact is not None
    assert await stack.runtime.channel.send(contact, LAWYER_ANSWER, "ru") is True
    bodies = await stack.replies(before + 1)
    assert bodies[before] == LAWYER_ANSWER
