"""`pana serve` as a deployment runs it with TWILIO_* set; and two processes sharing Redis agree on options."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.settings import RasaSettings, RedisSettings
from bot.storage.tables import MessageRow
from tests.conftest import PANA, make_settings, record
from tests.whatsapp.conftest import (
    PUBLIC_URL,
    TEMPLATES,
    USER,
    WhatsAppStack,
    inbound_form,
    numbered,
    signature,
    start_stack,
    whatsapp_settings,
)
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilioApi

pytestmark = pytest.mark.asyncio


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_until_listening(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
    raise AssertionError(f"nothing listens at {url}")


async def test_serve_with_twilio_settings_answers_whatsapp(
    twilio_api: FakeTwilioApi, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RASA_", "TELEGRAM_"))}
    env.update(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=SENDER.removeprefix("whatsapp:"),
        TWILIO_API_BASE=twilio_api.base_url,
        TWILIO_TEMPLATE_RU=TEMPLATES["ru"],
        PANA_PUBLIC_URL=PUBLIC_URL + "/",
        RASA_URL=rasa_settings.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        PANA_PORT=str(port),
    )
    process = await asyncio.create_subprocess_exec(
        *PANA,
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_until_listening(f"http://127.0.0.1:{port}/healthz")
        form = inbound_form("Как получить гражданство Казахстана?")
        headers = {"X-Twilio-Signature": signature(PUBLIC_URL + "/whatsapp/webhook", form)}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/whatsapp/webhook", data=form, headers=headers) as response,
        ):
            assert response.status == 200
        sent = await twilio_api.wait_for(1, timeout=60)
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert "гражданств" in sent[0]["Body"].lower(), stderr.decode()[-2000:]
    assert sent[0]["From"] == SENDER
    assert process.returncode == 0, "SIGTERM stops it cleanly"
    logs = stderr.decode()
    assert USER not in logs and USER.lstrip("+") not in logs, "logs never contain phone numbers"
    assert "гражданств" not in logs.lower(), "logs never contain message text"


@pytest.fixture
async def two_processes(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[tuple[WhatsAppStack, WhatsAppStack]]:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL is not set")
    base = make_settings(database_url, rasa_settings)
    shared = base.model_copy(update={"redis": RedisSettings(url=SecretStr(redis_url))})
    settings = whatsapp_settings(shared, twilio_api)
    first = await start_stack(settings, twilio_api, detector)
    second = await start_stack(settings, twilio_api, detector)
    yield first, second
    for stack in (first, second):
        await stack.client.close()
        await stack.app.close()


async def test_numbered_options_are_shared_by_every_process(
    two_processes: tuple[WhatsAppStack, WhatsAppStack],
) -> None:
    first, second = two_processes
    user = f"+7701{time.time_ns() % 10**7:07d}"
    await first.send("How do I apply for asylum in Kazakhstan?", user=user)
    bodies = await first.replies(1, user=user)
    lawyer = numbered(bodies[-1])["Talk to a lawyer"]
    await second.send(lawyer, user=user)
    await second.replies(len(bodies) + 1, user=user)
    contact = await second.app.store.find_contact("whatsapp", user)
    assert contact is not None
    async with record(second.app)() as session:
        intents = list(
            (
                await session.execute(
                    select(MessageRow.intent)
                    .where(MessageRow.contact_id == contact.id, MessageRow.direction == "in")
                    .order_by(MessageRow.id)
                )
            ).scalars()
        )
    assert intents[-1] == "request_lawyer", "the second process knew what the number meant"
