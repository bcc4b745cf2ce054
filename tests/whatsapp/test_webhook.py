"""End to end: Twilio-shaped, signed forms posted to the web app; the real twilio client talks to the stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.clock import utc_now
from bot.core.language import LanguageDetector
from bot.core.messages import IncomingMessage
from bot.records.whatsapp import Outgoing
from bot.storage.tables import MessageRow, WhatsAppDeliveryRow
from tests.conftest import record
from tests.whatsapp.conftest import (
    PUBLIC_URL,
    USER,
    WhatsAppStack,
    inbound_form,
    message_sid,
    numbered,
    signature,
    start_stack,
)

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("text", "language", "topic"),
    [
        ("Баламның туу туралы куәлігін қалай аламын?", "kk", "birth_registration"),
        ("Как подать на статус беженца?", "ru", "asylum_apply"),
        ("How do I apply for asylum in Kazakhstan?", "en", "asylum_apply"),
    ],
)
async def test_question_is_answered_in_the_users_language(
    stack: WhatsAppStack, text: str, language: str, topic: str
) -> None:
    response = await stack.send(text)
    assert response.status == 200
    assert response.content_type == "text/xml"
    assert "<Response/>" in await response.text(), "empty TwiML: the answer goes through the REST API"
    await stack.replies(1)
    sent = stack.api.messages[0]
    answer = stack.app.catalog.topics[topic].answer.get(language)
    assert sent["Body"].startswith(answer.split("\n")[0][:60])
    assert sent["To"] == f"whatsapp:{USER}" and sent["From"] == "whatsapp:+14155238886"
    assert sent["StatusCallback"].startswith(f"{PUBLIC_URL}/whatsapp/status?delivery=")
    assert "<" not in "".join(m["Body"] for m in stack.api.messages), "WhatsApp gets no HTML"


async def test_options_are_a_numbered_list_and_a_number_picks_one(stack: WhatsAppStack) -> None:
    await stack.send("Как подать на статус беженца?")
    options = await stack.options()
    lawyer = stack.app.translations.gettext("Talk to a lawyer", "ru")
    assert lawyer in options, options
    before = len(stack.api.messages)
    await stack.send(f"{options[lawyer]}.")
    await stack.replies(before + 1)
    async with record(stack.app)() as session:
        inbound = select(MessageRow.intent).where(MessageRow.direction == "in").order_by(MessageRow.id)
        intents = list((await session.execute(inbound)).scalars())
    assert intents[-1] == "request_lawyer", "the number was understood as the lawyer option"


async def test_option_words_work_like_the_number(stack: WhatsAppStack) -> None:
    await stack.send("hello there, I need help please")
    options = await stack.options()
    topics = stack.app.translations.gettext("Talk to a lawyer", "en")
    assert topics in options
    await stack.send(topics.upper())
    async with record(stack.app)() as session:
        last_intent = await session.scalar(
            select(MessageRow.intent).where(MessageRow.direction == "in").order_by(MessageRow.id.desc()).limit(1)
        )
    assert last_intent == "request_lawyer"


async def test_first_short_message_offers_the_three_languages(stack: WhatsAppStack) -> None:
    await stack.send("hi")
    bodies = await stack.replies(1)
    options = numbered(bodies[-1])
    assert {"Қазақша", "Русский", "English"} <= set(options)
    assert "Қай тілде" in bodies[-1] and "На каком языке" in bodies[-1] and "Which language" in bodies[-1]
    before = len(bodies)
    await stack.send(options["Қазақша"])
    after = await stack.replies(before + 1)
    assert "қазақ" in after[before].lower()
    await stack.send("паспорт")
    final = await stack.replies(len(after) + 1)
    assert "Қазақша" not in numbered(final[-1]), "languages are offered only to a new contact"


@pytest.mark.parametrize(
    "sign",
    [False, "", "bm90IGEgc2lnbmF0dXJl", "forged-by-someone", signature("http://127.0.0.1/whatsapp/webhook", {})],
)
async def test_missing_or_wrong_signature_is_refused_and_nothing_stored(stack: WhatsAppStack, sign: object) -> None:
    response = await stack.post("/whatsapp/webhook", inbound_form("How do I apply for asylum?"), sign=sign)
    assert response.status == 403
    await stack.runtime.outbox.settled()
    assert await stack.counts() == (0, 0, 0)
    assert stack.api.attempts == []


async def test_signature_over_other_params_or_the_internal_url_is_refused(stack: WhatsAppStack) -> None:
    form = inbound_form("How do I apply for asylum?")
    tampered = {**form, "Body": "something else"}
    signed_for_form = signature(PUBLIC_URL + "/whatsapp/webhook", form)
    response = await stack.post("/whatsapp/webhook", tampered, sign=signed_for_form)
    assert response.status == 403
    internal = str(stack.client.make_url("/whatsapp/webhook"))
    response = await stack.post("/whatsapp/webhook", form, sign=signature(internal, form))
    assert response.status == 403, "only the public URL Twilio called is accepted"
    assert await stack.counts() == (0, 0, 0)


async def test_the_url_given_to_twilio_asks_for_retries_and_its_signature_is_accepted(stack: WhatsAppStack) -> None:
    assert stack.runtime.webhook.url == PUBLIC_URL + "/whatsapp/webhook#rc=3&rp=ct,rt,5xx"
    form = inbound_form("How do I apply for asylum?")
    response = await stack.post("/whatsapp/webhook", form, sign=signature(stack.runtime.webhook.url, form))
    assert response.status == 200, "signed over the configured URL, fragment included"
    assert len(await stack.replies(1)) >= 1


async def test_duplicate_message_sid_is_processed_once(stack: WhatsAppStack) -> None:
    sid = message_sid()
    first, second = await asyncio.gather(
        stack.send("How do I apply for asylum?", sid=sid), stack.send("How do I apply for asylum?", sid=sid)
    )
    # The one that finds the other in flight is asked to come again (503), never acknowledged and dropped.
    assert {first.status, second.status} <= {200, 503} and 200 in (first.status, second.status)
    third = await stack.send("How do I apply for asylum?", sid=sid)
    assert third.status == 200
    replies = await stack.replies(1)
    await stack.runtime.outbox.settled()
    assert len(stack.api.messages) == len(replies)
    async with record(stack.app)() as session:
        inbound = await session.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.direction == "in"))
    assert inbound == 1


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": ""},
        {"MessageSid": "not-a-sid"},
        {"From": "+77011234567"},
        {"From": "whatsapp:someone"},
        {"NumMedia": "many"},
    ],
)
async def test_malformed_form_gets_400_and_nothing_stored(stack: WhatsAppStack, change: dict[str, str]) -> None:
    form = inbound_form("How do I apply for asylum?", **change)
    response = await stack.post("/whatsapp/webhook", form)
    assert response.status == 400
    assert await stack.counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"Body": "hi"}', "application/json"),
        (b"Body=%FF%FE&From=whatsapp%3A%2B7701\xff\xfe", "application/x-www-form-urlencoded"),
        (b"", "text/plain"),
    ],
)
async def test_body_that_is_not_a_form_gets_400(stack: WhatsAppStack, body: bytes, content_type: str) -> None:
    response = await stack.client.post(
        "/whatsapp/webhook", data=body, headers={"Content-Type": content_type, "X-Twilio-Signature": "x"}
    )
    assert response.status == 400
    assert await stack.counts() == (0, 0, 0)


async def test_rate_limited_send_is_retried_then_recorded(stack: WhatsAppStack) -> None:
    stack.api.fail_next(429, 20429)
    stack.api.fail_next(503, 20500)
    await stack.send("How do I apply for asylum in Kazakhstan?")
    await stack.replies(1)
    assert len(stack.api.attempts) >= 3
    assert stack.api.attempts[0]["Body"] == stack.api.attempts[1]["Body"] == stack.api.attempts[2]["Body"]
    first = (await stack.deliveries())[0]
    assert (first.status, first.message_sid) == ("queued", stack.api.messages[0]["Sid"])


async def test_refused_send_is_recorded_failed_and_the_rest_still_goes(stack: WhatsAppStack) -> None:
    stack.api.fail_next(400, 21211)  # invalid 'To' number: retrying would fail the same way
    await stack.send("How do I apply for asylum in Kazakhstan?")
    deliveries = []
    for _ in range(100):
        deliveries = await stack.deliveries()
        if deliveries and all(d.status not in ("ready", "submitting") for d in deliveries):
            break
        await asyncio.sleep(0.05)
    assert deliveries[0].status == "failed" and deliveries[0].error_code == 21211
    assert deliveries[0].body is None, "a final delivery keeps no text"
    assert all(d.status == "queued" for d in deliveries[1:])
    assert len(stack.api.attempts) == len(deliveries), "a refused message is not retried"


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ({"NumMedia": "1", "MediaContentType0": "audio/ogg"}, "дауыстық"),
        ({"NumMedia": "1", "MediaContentType0": "image/jpeg"}, "мәтіндік"),
        ({"NumMedia": "1", "MediaContentType0": "application/pdf"}, "мәтіндік"),
        ({"Latitude": "43.2389", "Longitude": "76.8897", "Address": "Almaty"}, "мәтіндік"),
    ],
)
async def test_voice_images_documents_locations_get_a_polite_answer_and_are_never_fetched(
    stack: WhatsAppStack, media: dict[str, str], expected: str
) -> None:
    await stack.send("Менің құжаттарым жоқ, не істеуім керек?")
    before = len(await stack.replies(1))
    if "NumMedia" in media:
        media = {**media, "MediaUrl0": stack.api.media_url("m1")}
    await stack.send("", **media)
    bodies = await stack.replies(before + 1)
    assert expected in bodies[before].lower()
    assert stack.api.media_requests == 0, "media are never downloaded"


async def test_voice_note_from_a_new_contact_is_answered_and_languages_offered(stack: WhatsAppStack) -> None:
    await stack.send("", NumMedia="1", MediaContentType0="audio/ogg", MediaUrl0=stack.api.media_url("v"))
    bodies = await stack.replies(1)
    assert "голосов" in bodies[0].lower()
    assert "English" in numbered(bodies[-1])


async def test_long_replies_are_split_under_1600_characters(stack: WhatsAppStack) -> None:
    await stack.send("Мне нужна помощь: кто даёт бесплатную юридическую помощь в Алматы?")
    await stack.replies(1)
    await stack.runtime.outbox.settled()
    assert all(len(m["Body"]) <= 1600 for m in stack.api.messages)


async def test_replies_are_stored_before_twilio_gets_its_answer(stack: WhatsAppStack) -> None:
    stack.api.fail_next(503, 20500, times=2)  # sending is slow; the acknowledgement is not
    response = await stack.send("How do I apply for asylum in Kazakhstan?")
    assert response.status == 200
    contacts, messages, deliveries = await stack.counts()
    assert (contacts, deliveries) == (1, messages - 1), "the message and every reply are in the record"


async def test_outbox_left_by_a_crash_is_sent_at_the_next_start(
    stack: WhatsAppStack, detector: LanguageDetector
) -> None:
    await stack.send("hello, I need help with documents please")
    await stack.replies(1)
    ledger = stack.runtime.ledger
    [left] = await ledger.add(USER, [Outgoing("en", body="left in the outbox")])
    [interrupted] = await ledger.add(USER, [Outgoing("en", body="interrupted while submitting")])
    async with record(stack.app)() as session:
        await session.execute(
            update(WhatsAppDeliveryRow)
            .where(WhatsAppDeliveryRow.id == interrupted)
            .values(status="submitting", updated_at=utc_now() - dt.timedelta(hours=1))
        )
        await session.commit()
    restarted = await start_stack(stack.app.settings, stack.api, detector)
    try:
        bodies = [m["Body"] for m in await stack.api.wait_for(len(stack.api.messages) + 2)]
    finally:
        await restarted.client.close()
        await restarted.app.close()
    assert bodies[-2:] == ["left in the outbox", "interrupted while submitting"]
    assert left < interrupted


async def test_delete_my_data_answers_and_leaves_no_number_behind(stack: WhatsAppStack) -> None:
    await stack.send("Как подать на статус беженца?")
    await stack.send("удалите все мои данные")
    asked = await stack.replies(2)
    await stack.send(numbered(asked[-1])[stack.app.translations.gettext("Yes, delete", "ru")])
    bodies = await stack.replies(len(asked) + 1)
    done = stack.app.translations.gettext("Done. I have deleted everything I stored about you.", "ru")
    assert done in bodies[-1]
    assert (await stack.counts())[:2] == (0, 0)
    await stack.runtime.outbox.settled()
    deliveries = await stack.deliveries()
    assert len(deliveries) == 1 and deliveries[0].contact_id is None, "only the goodbye, tied to nobody"
    goodbye = deliveries[0]
    assert (goodbye.recipient, goodbye.recipient_hash, goodbye.body) == (None, None, None), "Twilio has it: gone here"
    sent = stack.api.messages[-1]
    response = await stack.status(sent["StatusCallback"], sent["Sid"], "delivered")
    assert response.status == 204
    assert await stack.deliveries() == [], "delivered: the goodbye's record goes too"
    await stack.api.wait_for_deleted({sent["Sid"], *(m["Sid"] for m in stack.api.messages[:-1])})


async def test_a_message_stored_before_a_crash_is_answered_once_by_the_recovery_sweep(stack: WhatsAppStack) -> None:
    message = IncomingMessage("whatsapp", USER, "How do I apply for asylum?", channel_message_id=message_sid())
    contact = await stack.app.store.get_or_create_contact("whatsapp", USER)
    # Stored by a process killed at once (its hold has ended); Twilio gave up on the webhook.
    await stack.app.store.record_inbound(contact.id, message, message.text, lease_until=utc_now())
    await stack.runtime.replay(message)  # what the recovery sweep does with it
    replies = await stack.replies(1)
    await stack.runtime.outbox.settled()
    await stack.runtime.replay(message)  # a second sweep (or Twilio's late retry): answered already
    await stack.runtime.outbox.settled()
    assert len(stack.api.messages) == len(replies), "queued once"
    assert "asylum" in replies[0].lower()
