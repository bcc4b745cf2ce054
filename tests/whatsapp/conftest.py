"""WhatsApp fixtures: the real twilio client against the local Messages API stand-in, and the real web app.

Requests are signed with twilio's own RequestValidator over the public URL, as Twilio signs them, and posted
to the app on 127.0.0.1 (as through a proxy): only PANA_PUBLIC_URL can make the signature match.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.app import App, create_app
from bot.channels.whatsapp.factory import WhatsAppRuntime
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_whatsapp
from bot.settings import RasaSettings, Settings, TwilioSettings
from bot.storage.tables import ContactRow, MessageRow, WhatsAppDeliveryRow
from bot.web import create_web_app
from tests.conftest import make_settings, record
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilioApi, inbound_message_form

PUBLIC_URL = "https://pana.example.org"
USER = "+77011234567"
TEMPLATES = {"kk": "HX" + "a" * 32, "ru": "HX" + "b" * 32, "en": "HX" + "c" * 32}
NUMBERED = re.compile(r"^\*(\d+)\.\* (.+)$", re.MULTILINE)


def message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def signature(url: str, params: dict[str, str]) -> str:
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, params))


def numbered(body: str) -> dict[str, str]:
    """The options of a rendered reply: label → the number to answer with."""
    return {label: number for number, label in NUMBERED.findall(body)}


def inbound_form(text: str, *, user: str = USER, sid: str | None = None, **extra: str) -> dict[str, str]:
    """A message as Twilio posts it for WhatsApp."""
    form = inbound_message_form(sid or message_sid(), user, text)
    form.update(extra)
    return form


def whatsapp_settings(base: Settings, api: FakeTwilioApi, **templates: str) -> Settings:
    twilio = TwilioSettings(
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        whatsapp_from=SENDER,
        api_base=api.base_url,
        **{f"template_{language}": sid for language, sid in templates.items()},
    )
    return base.model_copy(update={"twilio": twilio, "pana": base.pana.model_copy(update={"public_url": PUBLIC_URL})})


@dataclass
class WhatsAppStack:
    app: App
    runtime: WhatsAppRuntime
    client: TestClient
    api: FakeTwilioApi

    async def post(self, path: str, form: dict[str, str], *, sign: Any = True) -> ClientResponse:
        """Post a form as Twilio would; `sign` may be False (no header) or a signature string."""
        headers = {}
        if sign is True:
            headers["X-Twilio-Signature"] = signature(PUBLIC_URL + path, form)
        elif isinstance(sign, str):
            headers["X-Twilio-Signature"] = sign
        return await self.client.post(path, data=form, headers=headers)

    async def send(self, text: str = "", *, user: str = USER, sid: str | None = None, **extra: str) -> ClientResponse:
        return await self.post("/whatsapp/webhook", inbound_form(text, user=user, sid=sid, **extra))

    async def status(self, callback: str, sid: str, status: str, error_code: str | None = None) -> ClientResponse:
        """A status callback to the URL Pana gave Twilio for a message."""
        assert callback.startswith(PUBLIC_URL)
        form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
        form.update({"AccountSid": ACCOUNT_SID, "From": SENDER, "To": f"whatsapp:{USER}", "ApiVersion": "2010-04-01"})
        if error_code:
            form["ErrorCode"] = error_code
        return await self.post(callback[len(PUBLIC_URL) :], form)

    async def replies(self, count: int = 1, *, user: str = USER) -> list[str]:
        """The bodies sent to a user so far, once there are at least `count`."""
        return [m.get("Body", "") for m in await self.api.wait_for(count, recipient=f"whatsapp:{user}")]

    async def options(self, *, user: str = USER, timeout: float = 30) -> dict[str, str]:
        """The numbered options of the first reply that offers any, once it has arrived.

        A turn's answer can be several messages and the options come with its last part: waiting for a
        count of messages can return before that part is sent.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in await self.replies(1, user=user):
                if offered := numbered(body):
                    return offered
            await asyncio.sleep(0.05)
        raise AssertionError(f"no reply with numbered options in {timeout} s: {await self.replies(1, user=user)}")

    async def counts(self) -> tuple[int, int, int]:
        """Contacts, messages and WhatsApp deliveries in the record."""
        async with record(self.app)() as session:
            contacts = await session.scalar(select(func.count()).select_from(ContactRow))
            messages = await session.scalar(select(func.count()).select_from(MessageRow))
            deliveries = await session.scalar(select(func.count()).select_from(WhatsAppDeliveryRow))
        return int(contacts or 0), int(messages or 0), int(deliveries or 0)

    async def deliveries(self) -> list[WhatsAppDeliveryRow]:
        async with record(self.app)() as session:
            return list((await session.execute(select(WhatsAppDeliveryRow).order_by(WhatsAppDeliveryRow.id))).scalars())


async def start_stack(settings: Settings, api: FakeTwilioApi, detector: LanguageDetector) -> WhatsAppStack:
    app = await create_app(settings, detector=detector)
    runtime: WhatsAppRuntime = create_whatsapp(settings, app)
    client = TestClient(TestServer(create_web_app(app, runtime), host="127.0.0.1"))
    await client.start_server()
    return WhatsAppStack(app, runtime, client, api)


@asynccontextmanager
async def running_stack(
    settings: Settings, api: FakeTwilioApi, detector: LanguageDetector
) -> AsyncIterator[WhatsAppStack]:
    """A stack for one test (the fixtures' way): started, then its server and app closed."""
    started = await start_stack(settings, api, detector)
    try:
        yield started
    finally:
        await started.client.close()
        await started.app.close()


@pytest.fixture
async def stack(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[WhatsAppStack]:
    settings = whatsapp_settings(make_settings(database_url, rasa_settings), twilio_api, **TEMPLATES)
    async with running_stack(settings, twilio_api, detector) as started:
        yield started
