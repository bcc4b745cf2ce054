"""Telegram fixtures: the real aiogram Bot against the local Bot API stand-in, and the real web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import App, create_app
from bot.channels.telegram.runtime import TelegramRuntime
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_telegram
from bot.settings import RasaSettings, TelegramSettings
from bot.web import create_web_app
from tests.conftest import make_settings
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi

SECRET = "test-secret_123"


@dataclass
class TelegramStack:
    app: App
    telegram: TelegramRuntime
    client: TestClient
    api: FakeBotApi

    async def post(self, update: dict, secret: str | None = SECRET):  # type: ignore[no-untyped-def, type-arg]
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/telegram/webhook", json=update, headers=headers)


@pytest.fixture
async def stack(
    bot_api: FakeBotApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[TelegramStack]:
    settings = make_settings(database_url, rasa_settings).model_copy(
        update={
            "telegram": TelegramSettings(
                bot_token=SecretStr(TOKEN),
                api_base=bot_api.base_url,
                webhook_url=WEBHOOK_URL,
                webhook_secret=SecretStr(SECRET),
            )
        }
    )
    app = await create_app(settings, detector=detector)
    telegram = create_telegram(settings, app)
    client = TestClient(TestServer(create_web_app(app, telegram), host="127.0.0.1"))
    await client.start_server()
    yield TelegramStack(app, telegram, client, bot_api)
    await client.close()
    await app.close()
