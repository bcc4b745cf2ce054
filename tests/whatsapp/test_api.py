"""Twilio's Messages API as Pana calls it (over aiohttp), against the local stand-in that answers as Twilio does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.whatsapp.api import TwilioMessages
from bot.errors import DeliveryFailed
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilioApi

TO = "whatsapp:+77015550123"
CALLBACK = "https://pana.example/whatsapp/status"


@pytest.fixture
async def messages(twilio_api: FakeTwilioApi) -> AsyncIterator[TwilioMessages]:
    api = TwilioMessages(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender=SENDER, api_base=twilio_api.base_url)
    yield api
    await api.close()


async def test_a_message_is_created_as_twilio_expects_it(twilio_api: FakeTwilioApi, messages: TwilioMessages) -> None:
    accepted = await messages.create(TO, status_callback=CALLBACK, body="Сәлем")
    assert accepted.message_sid.startswith("SM") and accepted.status == "queued"
    sent = twilio_api.messages[0]
    assert (sent["To"], sent["From"], sent["Body"], sent["StatusCallback"]) == (TO, SENDER, "Сәлем", CALLBACK)
    assert sent["Sid"] == accepted.message_sid


async def test_a_template_is_sent_without_a_body(twilio_api: FakeTwilioApi, messages: TwilioMessages) -> None:
    await messages.create(TO, status_callback=CALLBACK, content_sid="HX" + "0" * 32, content_variables='{"1": "x"}')
    sent = twilio_api.messages[0]
    assert "Body" not in sent and sent["ContentSid"] == "HX" + "0" * 32 and sent["ContentVariables"] == '{"1": "x"}'


async def test_a_rate_limit_is_retryable_after_what_twilio_asked(
    twilio_api: FakeTwilioApi, messages: TwilioMessages
) -> None:
    twilio_api.fail_next(429, 20429, retry_after=7)
    with pytest.raises(DeliveryFailed) as refused:
        await messages.create(TO, status_callback=CALLBACK, body="x")
    assert (refused.value.retryable, refused.value.code, refused.value.retry_after) == (True, 20429, 7.0)
    assert TO not in str(refused.value)


async def test_a_refusal_that_would_repeat_is_not_retryable(
    twilio_api: FakeTwilioApi, messages: TwilioMessages
) -> None:
    twilio_api.fail_next(400, 21211)
    with pytest.raises(DeliveryFailed) as refused:
        await messages.create(TO, status_callback=CALLBACK, body="x")
    assert (refused.value.retryable, refused.value.code, refused.value.retry_after) == (False, 21211, None)


async def test_wrong_credentials_are_refused(twilio_api: FakeTwilioApi) -> None:
    api = TwilioMessages(account_sid=ACCOUNT_SID, auth_token="wrong", sender=SENDER, api_base=twilio_api.base_url)
    try:
        with pytest.raises(DeliveryFailed) as refused:
            await api.create(TO, status_callback=CALLBACK, body="x")
    finally:
        await api.close()
    assert (refused.value.retryable, refused.value.code) == (False, 20003)
    assert not twilio_api.attempts


async def test_deleting_a_message_twilio_no_longer_has_counts_as_deleted(
    twilio_api: FakeTwilioApi, messages: TwilioMessages
) -> None:
    accepted = await messages.create(TO, status_callback=CALLBACK, body="x")
    await messages.delete(accepted.message_sid)
    await messages.delete("not-a-sid")  # Twilio answers 404
    assert twilio_api.deleted == [accepted.message_sid]


async def test_an_answer_without_a_sid_is_not_sent_again() -> None:
    """Accepted but unreadable (a proxy's page): sending again could deliver it twice."""

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>ok</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", html)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    api = TwilioMessages(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender=SENDER, api_base=str(server.make_url("")).rstrip("/")
    )
    try:
        with pytest.raises(DeliveryFailed) as refused:
            await api.create(TO, status_callback=CALLBACK, body="x")
    finally:
        await api.close()
        await server.close()
    assert refused.value.retryable is False


async def test_an_unreachable_twilio_is_retryable() -> None:
    api = TwilioMessages(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender=SENDER, api_base="http://127.0.0.1:9")
    try:
        with pytest.raises(DeliveryFailed) as failed:
            await api.create(TO, status_callback=CALLBACK, body="x")
    finally:
        await api.close()
    assert failed.value.retryable is True
