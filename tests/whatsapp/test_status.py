"""Delivery status callbacks: signed, recorded once, never moved backwards, failures kept with their code."""

from __future__ import annotations

import asyncio

import pytest

from tests.whatsapp.conftest import PUBLIC_URL, WhatsAppStack, signature

pytestmark = pytest.mark.asyncio


async def _one_reply(stack: WhatsAppStack) -> dict[str, str]:
    await stack.send("Take care, goodbye")
    await stack.replies(1)
    return stack.api.messages[0]


async def _status_of(stack: WhatsAppStack, message_sid: str) -> tuple[str, int | None]:
    found = [d for d in await stack.deliveries() if d.message_sid == message_sid]
    assert len(found) == 1
    return found[0].status, found[0].error_code


async def test_statuses_are_recorded_in_order(stack: WhatsAppStack) -> None:
    sent = await _one_reply(stack)
    for status in ("sent", "delivered", "read"):
        response = await stack.status(sent["StatusCallback"], sent["Sid"], status)
        assert response.status == 204
        assert await _status_of(stack, sent["Sid"]) == (status, None)


async def test_out_of_order_and_repeated_callbacks_never_move_a_status_back(stack: WhatsAppStack) -> None:
    sent = await _one_reply(stack)
    for status in ("delivered", "sent", "queued", "read", "delivered", "read", "sent"):
        assert (await stack.status(sent["StatusCallback"], sent["Sid"], status)).status == 204
    assert await _status_of(stack, sent["Sid"]) == ("read", None)
    delivery = next(d for d in await stack.deliveries() if d.message_sid == sent["Sid"])
    assert (delivery.body, delivery.recipient) == (None, None), "a final delivery keeps no text or number"


async def test_failure_is_recorded_with_its_error_code(stack: WhatsAppStack) -> None:
    sent = await _one_reply(stack)
    await stack.status(sent["StatusCallback"], sent["Sid"], "sent")
    await stack.status(sent["StatusCallback"], sent["Sid"], "undelivered", "63024")
    await stack.status(sent["StatusCallback"], sent["Sid"], "sent")
    assert await _status_of(stack, sent["Sid"]) == ("undelivered", 63024)


async def test_callback_found_by_message_sid_without_our_id(stack: WhatsAppStack) -> None:
    sent = await _one_reply(stack)
    response = await stack.status(f"{PUBLIC_URL}/whatsapp/status", sent["Sid"], "delivered")
    assert response.status == 204
    assert await _status_of(stack, sent["Sid"]) == ("delivered", None)


async def test_callback_by_message_sid_before_create_returned_is_not_lost(stack: WhatsAppStack) -> None:
    """Twilio may call back before our create() has its answer (and the SID is stored): the status is kept.

    It was ignored as "an unknown message" (the test above failed so under load)."""
    stack.api.answers_wait_for = answered = asyncio.Event()
    sent = await _one_reply(stack)  # accepted by Twilio; its answer to create() not back yet
    callback = asyncio.create_task(stack.status(f"{PUBLIC_URL}/whatsapp/status", sent["Sid"], "delivered"))
    # Give the callback every chance to be handled first (it used to be, at once); it waits for the send now.
    await asyncio.wait({callback}, timeout=1.0)
    answered.set()
    assert (await callback).status == 204
    await stack.runtime.outbox.settled()
    assert await _status_of(stack, sent["Sid"]) == ("delivered", None)


async def test_callback_for_an_unknown_message_is_acknowledged_and_ignored(stack: WhatsAppStack) -> None:
    await _one_reply(stack)
    response = await stack.status(f"{PUBLIC_URL}/whatsapp/status?delivery=999", "SM" + "f" * 32, "sent")
    assert response.status == 204
    assert all(d.status == "queued" for d in await stack.deliveries())


async def test_forged_or_unsigned_status_is_refused(stack: WhatsAppStack) -> None:
    sent = await _one_reply(stack)
    path = sent["StatusCallback"].removeprefix(PUBLIC_URL)
    form = {"MessageSid": sent["Sid"], "MessageStatus": "failed", "ErrorCode": "30008"}
    assert (await stack.post(path, form, sign=False)).status == 403
    assert (await stack.post(path, form, sign="Zm9yZ2Vk")).status == 403
    other_delivery = path.replace("delivery=", "delivery=1")
    assert (await stack.post(other_delivery, form, sign=signature(PUBLIC_URL + path, form))).status == 403
    assert await _status_of(stack, sent["Sid"]) == ("queued", None)


async def test_malformed_status_gets_400(stack: WhatsAppStack) -> None:
    sent = await _one_reply(stack)
    path = sent["StatusCallback"].removeprefix(PUBLIC_URL)
    assert (await stack.post(path, {"MessageSid": sent["Sid"]})).status == 400
    assert (await stack.post(path, {"MessageSid": "SM1", "MessageStatus": "sent"})).status == 400
