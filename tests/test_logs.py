"""Logs cannot leak: real database, Telegram, Twilio and Rasa errors carrying a marker text and a phone number
are logged the way Pana logs failures, and neither (nor a token) appears in any captured record."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from bot.errors import NluUnavailable
from bot.logs import install_redaction, redact, uninstall_redaction
from bot.nlu.client import RasaClient
from bot.settings import DatabaseSettings, TelegramSettings
from bot.storage.commits import Commits
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.repository import SqlConversationStore
from bot.storage.tables import MessageRow
from tests.keys import TEST_KEYRING
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

MARKER = "Zarina hides at the old bakery on Abay street"
PHONE = "+77015550199"
log = logging.getLogger("bot.test_logs")


@pytest.fixture
def redacted(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    install_redaction()
    caplog.set_level(logging.DEBUG)
    yield caplog
    uninstall_redaction()


def _leaks(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[str]:
    found = []
    for record in caplog.records:
        rendered = "\n".join(filter(None, (record.getMessage(), record.exc_text or "", record.stack_info or "")))
        digits = rendered.replace(" ", "")
        found += [f"{s!r} in {record.name}" for s in secrets if s in rendered or s.lstrip("+") in digits]
    return found


def test_redact_masks_phones_tokens_and_payloads() -> None:
    line = (
        f"POST /bot{TOKEN}/sendMessage text={MARKER.replace(' ', '+')}&chat_id=1 to whatsapp:{PHONE} "
        f"or 8 701 555 01 99, Authorization: Bearer abc.def.ghi, token=s3cr3t "
        f"postgresql://pana:hunter2@db/pana {{'text': '{MARKER}', 'Body': \"{MARKER}\"}}"
    )
    clean = redact(line)
    for secret in (TOKEN, "Zarina", PHONE, "701 555 01 99", "abc.def.ghi", "s3cr3t", "hunter2"):
        assert secret not in clean, secret
    assert "postgresql://pana:" in clean and "/sendMessage" in clean, "what helps debugging stays"


async def _message_for_no_conversation(database_url: str, *, hide_parameters: bool) -> IntegrityError:
    """An insert failing on a foreign key, with the text and number among its bound values."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    engine.sync_engine.hide_parameters = hide_parameters  # False: what SQLAlchemy does by default
    await migrate(engine)
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=1))
    contact = await store.get_or_create_contact("whatsapp", PHONE)
    try:
        async with session_factory(engine)() as session:
            session.add(
                MessageRow(
                    conversation_id=424242,
                    contact_id=contact.id,
                    direction="in",
                    text=f"{MARKER} {PHONE}",  # sealed before it is bound: ciphertext even in an unhidden error
                    channel_message_id=f"{MARKER} {PHONE}",  # a column stored in clear
                )
            )
            with pytest.raises(IntegrityError) as raised:
                await session.commit()
        return raised.value
    finally:
        await engine.dispose()


async def test_database_error_shows_neither_text_nor_number(
    redacted: pytest.LogCaptureFixture, database_url: str
) -> None:
    unhidden = await _message_for_no_conversation(database_url, hide_parameters=False)
    assert MARKER in str(unhidden), "SQLAlchemy's default would have logged the text"
    log.error("Storing a message failed (redaction alone)", exc_info=unhidden)
    error = await _message_for_no_conversation(database_url, hide_parameters=True)
    assert MARKER not in str(error) and PHONE not in str(error)
    log.error("Storing a message failed", exc_info=error)
    assert len(redacted.records) >= 2
    assert not _leaks(redacted, MARKER, PHONE)


async def test_telegram_errors_show_neither_text_number_nor_token(
    redacted: pytest.LogCaptureFixture, bot_api: FakeBotApi
) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramAPIError

    from bot.channels.telegram.factory import create_bot

    refusal = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    bot_api.failures.setdefault("sendMessage", []).append((400, refusal))
    bot = create_bot(TelegramSettings(bot_token=SecretStr(TOKEN), api_base=bot_api.base_url))
    # Without the retry middleware: one failed connection is enough.
    unreachable = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")))
    try:
        with pytest.raises(TelegramAPIError) as refused:
            await bot.send_message(chat_id=PHONE.lstrip("+"), text=MARKER)
        assert MARKER in repr(refused.value.method), "the failed call does carry the text"
        log.error("Sending to Telegram failed: %s", refused.value, exc_info=refused.value)
        log.warning("Telegram refused %r", refused.value.method)  # a careless line: the whole call
        with pytest.raises(TelegramAPIError) as down:
            await unreachable.send_message(chat_id=PHONE.lstrip("+"), text=MARKER)
        log.warning(
            "Telegram unreachable: %s (url %s)",
            down.value,
            f"{bot_api.base_url}/bot{TOKEN}/sendMessage",
            exc_info=down.value,
        )
    finally:
        await bot.session.close()
        await unreachable.session.close()
    assert len(redacted.records) >= 3
    assert not _leaks(redacted, MARKER, PHONE, TOKEN)


async def _error_server(status: int, body: dict[str, object]) -> TestServer:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_twilio_error_quoting_the_number_is_not_logged(redacted: pytest.LogCaptureFixture) -> None:
    from twilio.base.exceptions import TwilioRestException
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    message = f"The 'To' number whatsapp:{PHONE} is not a valid phone number. Body: {MARKER}"
    server = await _error_server(400, {"code": 21211, "message": message, "status": 400})
    http = AsyncTwilioHttpClient(logger=logging.getLogger("bot.test_logs.twilio"))
    client = Client("AC" + "0" * 32, "twilio-secret-token-0123456789", http_client=http)
    client.api.base_url = str(server.make_url("")).rstrip("/")
    try:
        with pytest.raises(TwilioRestException) as refused:
            await client.messages.create_async(to=f"whatsapp:{PHONE}", from_="whatsapp:+14155238886", body=MARKER)
        assert PHONE in str(refused.value), "Twilio does quote the number"
        log.error("WhatsApp delivery failed: %s", refused.value, exc_info=refused.value)
    finally:
        await http.close()
        await server.close()
    assert not _leaks(redacted, MARKER, PHONE, "twilio-secret-token-0123456789")


async def test_rasa_error_shows_neither_text_nor_number(redacted: pytest.LogCaptureFixture) -> None:
    server = await _error_server(500, {"error": f"could not parse {MARKER} from {PHONE}"})
    client = RasaClient(str(server.make_url("")), timeout=2.0, auth=lambda: {"Authorization": "Bearer abc.def.ghi"})
    try:
        with pytest.raises(NluUnavailable) as failed:
            await client.classify(f"{MARKER} {PHONE}")
        log.warning("NLU unavailable: %s", failed.value, exc_info=failed.value)
    finally:
        await client.close()
        await server.close()
    assert not _leaks(redacted, MARKER, PHONE, "abc.def.ghi")
