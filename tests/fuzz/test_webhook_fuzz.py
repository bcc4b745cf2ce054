"""Fuzzing both webhooks on the real stack (real Rasa, real database, the real aiogram and twilio code):
malformed or hostile input never gets a 5xx and never ends in an unhandled exception.

Examples are drawn with hypothesis first (bounded), then posted one by one on the test's event loop:
the app lives on that loop, which hypothesis' own runner cannot drive. Each failure names its input.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.app import App, create_app
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_telegram, create_whatsapp
from bot.settings import RasaSettings, TelegramSettings
from bot.web import create_web_app
from tests.conftest import make_settings
from tests.fuzz.strategies import ANY_CHARACTER, commands, payloads, texts
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi, button_press, private_message, signed
from tests.whatsapp.conftest import PUBLIC_URL, TEMPLATES, inbound_form, signature, whatsapp_settings
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

pytestmark = pytest.mark.fuzz

SECRET = "fuzz-secret"
T = TypeVar("T")
_ids = itertools.count(900_000)
ran: dict[str, int] = {}


def draw(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """`count` examples as hypothesis generates them (its edge cases first), without running anything."""
    found: list[T] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    collect()
    return found


@dataclass
class Both:
    app: App
    client: TestClient
    bot_api: FakeBotApi

    async def telegram(self, body: bytes, *, content_type: str = "application/json", secret: str = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": content_type}
        response = await self.client.post("/telegram/webhook", data=body, headers=headers)
        return response.status

    async def whatsapp(self, form: list[tuple[str, str]] | bytes, *, content_type: str, sign: bool | str) -> int:
        """`sign`: True signs as Twilio does, False sends no signature, a string is sent as a forged one."""
        headers = {"Content-Type": content_type}
        if isinstance(sign, str):
            headers["X-Twilio-Signature"] = sign
        elif sign and isinstance(form, list):
            form = [(twilio_text(key), twilio_text(value)) for key, value in form]
            headers["X-Twilio-Signature"] = signature(PUBLIC_URL + "/whatsapp/webhook", dict(form))
        data = form if isinstance(form, bytes) else "&".join(f"{_q(k)}={_q(v)}" for k, v in form).encode()
        response = await self.client.post("/whatsapp/webhook", data=data, headers=headers)
        return response.status

    async def raw(self, head: bytes) -> int:
        """A request written byte for byte (headers no client library would send); its status code."""
        assert self.client.server.port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", self.client.server.port)
        writer.write(head)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        writer.close()
        return int(status_line.split()[1])


def twilio_text(value: str) -> str:
    """What Twilio can send: its form is UTF-8, which has no lone surrogates."""
    return "".join(c for c in value if not 0xD800 <= ord(c) <= 0xDFFF)


def signed_or_forged(payload: str) -> str:
    """Signed as Pana signs, when the payload fits a button at all (Pana never issues longer ones)."""
    try:
        return signed(payload)
    except ValueError:
        return f"o|{payload}|AAAAAAAA"


def _q(value: str) -> str:
    from urllib.parse import quote

    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
async def both(
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Both]:
    base = whatsapp_settings(make_settings(database_url, rasa_settings), twilio_api, **TEMPLATES)
    settings_ = base.model_copy(
        update={
            "telegram": TelegramSettings(
                bot_token=SecretStr(TOKEN),
                api_base=bot_api.base_url,
                webhook_url=WEBHOOK_URL,
                webhook_secret=SecretStr(SECRET),
            )
        }
    )
    app = await create_app(settings_, detector=detector)
    telegram, whatsapp = create_telegram(settings_, app), create_whatsapp(settings_, app)
    client = TestClient(TestServer(create_web_app(app, telegram, whatsapp), host="127.0.0.1"))
    await client.start_server()
    with caplog.at_level(logging.ERROR):
        yield Both(app, client, bot_api)
    await client.close()
    await app.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not errors, f"unhandled exceptions were logged: {[r.getMessage() for r in errors][:3]}"


def bad(status: int) -> bool:
    return status >= 500


async def test_telegram_texts_and_commands_are_always_answered(both: Both) -> None:
    examples = draw(st.one_of(texts, commands), 40)
    ran["telegram texts"] = len(examples)
    for text in examples:
        update = private_message(next(_ids), text, language=None)
        body = json.dumps(update).encode()
        assert (await both.telegram(body)) == 200, repr(text)


async def test_telegram_buttons_forged_or_not_never_fail(both: Both) -> None:
    data = st.one_of(payloads.map(signed_or_forged), payloads.map(lambda p: f"o|{p}"), texts)
    chats = st.sampled_from([777, -1001234567890])
    examples = draw(st.tuples(data, chats), 60)
    ran["telegram buttons"] = len(examples)
    for callback_data, chat in examples:
        update = button_press(next(_ids), callback_data)
        update["callback_query"]["message"]["chat"] = {"id": chat, "type": "private" if chat > 0 else "supergroup"}
        assert (await both.telegram(json.dumps(update).encode())) == 200, repr(callback_data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(ANY_CHARACTER, max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
update_shaped = st.fixed_dictionaries(
    {"update_id": st.one_of(st.integers(-(2**70), 2**70), json_values)},
    optional={"message": json_values, "callback_query": json_values, "edited_message": json_values},
)


async def test_telegram_bodies_of_any_shape_get_a_4xx_or_200_never_a_5xx(both: Both) -> None:
    bodies = st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        update_shaped.map(lambda v: json.dumps(v).encode()),
        st.just(b'{"update_id": 1, "update_id": 2, "message": {}}'),  # repeated keys
        st.just(b"\xff\xfe{" + b"x" * 100),
    )
    types = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""])
    examples = draw(st.tuples(bodies, types), 80)
    ran["telegram bodies"] = len(examples)
    for body, content_type in examples:
        assert not bad(await both.telegram(body, content_type=content_type)), repr(body[:80])
    assert (await both.telegram(b"{" * (2 * 1024 * 1024))) == 413, "oversized: refused before parsing"


async def test_telegram_secret_headers_of_any_bytes_are_refused_cleanly(both: Both) -> None:
    header_bytes = st.binary(min_size=0, max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
    examples = draw(header_bytes, 60)
    ran["telegram secret headers"] = len(examples)
    body = json.dumps(private_message(next(_ids), "hello")).encode()
    for header in examples:
        head = (
            b"POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-Telegram-Bot-Api-Secret-Token: " + header + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        status = await both.raw(head)
        assert status in (400, 401), (header, status)


async def test_whatsapp_forms_of_any_content_signed_or_not_never_get_a_5xx(both: Both) -> None:
    base = st.builds(lambda text: list(inbound_form(text).items()), st.one_of(texts, commands))
    fields = st.lists(st.tuples(st.text(ANY_CHARACTER, max_size=12), st.text(ANY_CHARACTER, max_size=40)), max_size=6)
    repeated = st.builds(lambda form, extra: form + extra + form[:2], base, fields)  # repeated keys
    forms = st.one_of(base, repeated, fields)
    types = st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/x"])
    signing = st.one_of(st.booleans(), st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=40))
    examples = draw(st.tuples(forms, types, signing), 60)
    ran["whatsapp forms"] = len(examples)
    for form, content_type, sign in examples:
        assert not bad(await both.whatsapp(form, content_type=content_type, sign=sign)), repr(form)[:200]
    undecodable = b"Body=%FF%FE&From=whatsapp%3A%2B7701&MessageSid=SM1"
    for forged in (False, "AAAA"):
        assert not bad(await both.whatsapp(undecodable, content_type="application/x-www-form-urlencoded", sign=forged))
    cesu = b"Body=%ED%A0%80&From=whatsapp%3A%2B7701&MessageSid=SM2"  # an encoded lone surrogate
    assert not bad(await both.whatsapp(cesu, content_type="application/x-www-form-urlencoded", sign="AAAA"))
    oversized = b"a=" + b"x" * (2 * 1024 * 1024)
    assert (await both.whatsapp(oversized, content_type="application/x-www-form-urlencoded", sign=False)) == 413


async def test_signed_whatsapp_texts_are_always_answered(both: Both) -> None:
    examples = draw(st.one_of(texts, commands), 30)
    ran["whatsapp texts"] = len(examples)
    for text in examples:
        form = list(inbound_form(text).items())
        assert (await both.whatsapp(form, content_type="application/x-www-form-urlencoded", sign=True)) == 200, repr(
            text
        )


def test_how_many_webhook_examples_ran() -> None:
    print(f"webhook fuzz examples: {ran}")
