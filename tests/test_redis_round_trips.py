"""What one turn asks of Redis and of the event loop, counted: a change that adds a round trip or a task fails here.

Each Redis round trip costs the turn its latency and redis-py's client CPU; each task its scheduling. The counts
are taken on a returning person's turn (connections open, scripts loaded), through the real webhooks, the real
aiogram and twilio clients against the local stand-ins, the real Rasa and a real Redis.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import create_app
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_telegram
from bot.settings import RasaSettings, Settings, TelegramSettings
from bot.web import create_web_app
from tests.conftest import make_settings
from tests.redis_calls import Counted, counting_redis
from tests.telegram.conftest import SECRET, TelegramStack
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi, button_press, private_message, signed
from tests.whatsapp.conftest import TEMPLATES, WhatsAppStack, start_stack, whatsapp_settings
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

pytestmark = pytest.mark.asyncio

QUESTION = "How do I apply for asylum in Kazakhstan?"


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    return url


def _with_redis(settings: Settings) -> Settings:
    return settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": SecretStr(_redis_url())})})


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/pana.db"  # the counts are Redis's: one database is enough


@pytest.fixture
async def telegram(
    bot_api: FakeBotApi,
    sqlite_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[TelegramStack]:
    telegram_settings = TelegramSettings(
        bot_token=SecretStr(TOKEN), api_base=bot_api.base_url, webhook_url=WEBHOOK_URL, webhook_secret=SecretStr(SECRET)
    )
    settings = _with_redis(make_settings(sqlite_url, rasa_settings)).model_copy(update={"telegram": telegram_settings})
    app = await create_app(settings, detector=detector)
    runtime = create_telegram(settings, app)
    client = TestClient(TestServer(create_web_app(app, runtime), host="127.0.0.1"))
    await client.start_server()
    yield TelegramStack(app, runtime, client, bot_api)
    await client.close()
    await app.close()


@pytest.fixture
async def whatsapp(
    twilio_api: FakeTwilioApi,
    sqlite_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[WhatsAppStack]:
    settings = whatsapp_settings(_with_redis(make_settings(sqlite_url, rasa_settings)), twilio_api, **TEMPLATES)
    started = await start_stack(settings, twilio_api, detector)
    yield started
    await started.client.close()
    await started.app.close()


def _unique_chat() -> int:
    return 10**9 + int.from_bytes(os.urandom(3), "big")  # its own chat: other tests may share this Redis db


def _pana_tasks(counted: Counted) -> list[str]:
    return [name for name in counted.tasks if name.startswith("bot.")]


async def test_a_telegram_question_and_button_press(telegram: TelegramStack, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = _unique_chat()
    base = int.from_bytes(os.urandom(3), "big") * 10
    assert (await telegram.post(private_message(base + 1, QUESTION, chat_id=chat, language="en"))).status == 200
    with counting_redis(monkeypatch) as counted:
        assert (await telegram.post(private_message(base + 2, QUESTION, chat_id=chat, language="en"))).status == 200
        question = (list(counted.commands), counted.round_trips, _pana_tasks(counted))
        counted.clear()
        press = button_press(base + 3, signed("topic:asylum_rejected", chat), chat_id=chat, language="en")
        assert (await telegram.post(press)).status == 200
        pressed = (list(counted.commands), counted.round_trips, _pana_tasks(counted))
    print("telegram question:", question, "button:", pressed)  # shown with -s: the figures of the note
    assert question == (EXPECTED_TELEGRAM_QUESTION, len(EXPECTED_TELEGRAM_QUESTION), EXPECTED_TELEGRAM_TASKS)
    assert pressed == (EXPECTED_TELEGRAM_BUTTON, len(EXPECTED_TELEGRAM_BUTTON), EXPECTED_TELEGRAM_TASKS)


async def test_a_whatsapp_question(whatsapp: WhatsAppStack, monkeypatch: pytest.MonkeyPatch) -> None:
    user = f"+7701{int.from_bytes(os.urandom(3), 'big') % 10**7:07d}"
    assert (await whatsapp.send(QUESTION, user=user)).status == 200
    await whatsapp.replies(1, user=user)
    with counting_redis(monkeypatch) as counted:
        assert (await whatsapp.send(QUESTION, user=user)).status == 200
        question = (list(counted.commands), counted.round_trips, _pana_tasks(counted))
    print("whatsapp question:", question)
    assert question == (EXPECTED_WHATSAPP_QUESTION, len(EXPECTED_WHATSAPP_QUESTION), EXPECTED_WHATSAPP_TASKS)


# A question: the update's claim with the chat's lock and the dialogue state read ahead (one script), the global
# turn limit, the state written, the claim finished with the lock given back (one script); a button press takes no
# place in the turn limit. The claim and the lock are renewed by a timer: no task unless a turn outlasts a third
# of the lock's time (bot/channels/renewal.py).
EXPECTED_TELEGRAM_QUESTION = ["EVALSHA", "EVALSHA", "SET", "EVALSHA"]
EXPECTED_TELEGRAM_BUTTON = ["EVALSHA", "SET", "EVALSHA"]
EXPECTED_TELEGRAM_TASKS: list[str] = []
# The person's lock, the numbered options recalled, the state read, the turn limit, the state written, the
# options remembered, the lock released; the outbox's drain sends the replies after the webhook's answer.
EXPECTED_WHATSAPP_QUESTION = ["SET", "GET", "GET", "EVALSHA", "SET", "SET", "EVALSHA"]
EXPECTED_WHATSAPP_TASKS = ["bot.channels.whatsapp.sender.WhatsAppSender.drain"]
