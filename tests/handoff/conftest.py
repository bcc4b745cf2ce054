"""The whole system for handoff tests: real web app and aiogram Bot, the Bot API stand-in, real Rasa and DB.

A user and lawyers talk to Pana only through Telegram updates posted to the webhook; what Pana says
is read from the stand-in's recorded `sendMessage` calls. Time is a settable clock, so waiting limits
and working hours are tested without sleeping.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import App, create_app
from bot.channels.telegram.runtime import TelegramRuntime
from bot.core.language import LanguageDetector
from bot.languages import Language
from bot.nlu.server import NluServer
from bot.registry import create_telegram
from bot.settings import LawyerSettings, RasaSettings, TelegramSettings
from bot.web import create_web_app
from tests.conftest import make_settings
from tests.telegram.fake_bot_api import (
    BOT_ID,
    TOKEN,
    WEBHOOK_URL,
    FakeBotApi,
    button_payload,
    button_press,
    private_message,
    signed,
)

SECRET = "handoff-secret_1"
USER = 777
LAWYER_A = 5001
LAWYER_B = 5002
STRANGER = 6001
LAWYERS_GROUP = -100500
# A Wednesday noon in Almaty (07:00 UTC): inside the default working hours.
WEDNESDAY_NOON = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)
ALWAYS_OPEN = "Mon-Sun 00:00-24:00"
_update_ids = itertools.count(1)


@dataclass
class Clock:
    now: dt.datetime = WEDNESDAY_NOON

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class HandoffStack:
    app: App
    telegram: TelegramRuntime
    client: TestClient
    api: FakeBotApi
    clock: Clock
    seen: dict[int, int] = field(default_factory=dict)  # chat id → sendMessage calls already read
    stopped: bool = False

    # --- acting ----------------------------------------------------------------------------------------
    async def post(self, update: dict[str, Any]) -> None:
        response = await self.client.post(
            "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert response.status == 200, await response.text()

    async def write(self, text: str, *, chat_id: int = USER, language: str = "ru", reply_to: int | None = None) -> None:
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Pana"},
                "text": "...",
            }
        await self.post(private_message(next(_update_ids), text, chat_id=chat_id, language=language, **extra))

    async def press(
        self, payload: str, *, chat_id: int = USER, language: str = "ru", in_chat: int | None = None
    ) -> None:
        data = signed(payload, in_chat if in_chat is not None else chat_id)
        update = button_press(next(_update_ids), data, chat_id=chat_id, language=language)
        if in_chat is not None:  # a button under a message in a group: the presser and the chat differ
            update["callback_query"]["message"]["chat"] = {"id": in_chat, "type": "supergroup", "title": "Lawyers"}
        await self.post(update)

    async def add_lawyer(self, telegram_id: int, name: str, languages: tuple[Language, ...]) -> None:
        await self.app.handoff.lawyers.add(telegram_id, name, languages)

    # --- reading what Pana sent -----------------------------------------------------------------------
    def messages_to(self, chat_id: int) -> list[tuple[int, dict[str, Any]]]:
        """(message_id, params) of every sendMessage to a chat, oldest first."""
        return [
            (int(call.result["message_id"]), call.params)
            for call in self.api.calls
            if call.method == "sendMessage" and call.params.get("chat_id") == str(chat_id) and call.result
        ]

    def new_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages to a chat since the last time this was asked."""
        sent = self.messages_to(chat_id)
        start = self.seen.get(chat_id, 0)
        self.seen[chat_id] = len(sent)
        return [params for _, params in sent[start:]]

    def text_to(self, chat_id: int) -> str:
        return "\n".join(params["text"] for params in self.new_to(chat_id))

    def last_id_to(self, chat_id: int) -> int:
        return self.messages_to(chat_id)[-1][0]

    def buttons(self, params: dict[str, Any]) -> list[str]:
        markup = params.get("reply_markup") or {}
        return [button_payload(b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]

    def tr(self, msgid: str, language: Language = "ru") -> str:
        """What Pana says for a UI string in a language (English until the catalogs have it)."""
        return self.app.translations.gettext(msgid, language)

    def callback_answers(self) -> list[str]:
        return [call.params.get("text", "") for call in self.api.calls if call.method == "answerCallbackQuery"]


StackFactory = Callable[..., Awaitable[HandoffStack]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def build_stack(
    bot_api: FakeBotApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
    clock: Clock,
) -> AsyncIterator[StackFactory]:
    """Build (and rebuild, as after a restart) the whole app on the test's database."""
    built: list[HandoffStack] = []

    async def build(policy: dict[str, float] | None = None, **lawyer_settings: Any) -> HandoffStack:
        settings = make_settings(database_url, rasa_settings, **(policy or {})).model_copy(
            update={
                "telegram": TelegramSettings(
                    bot_token=SecretStr(TOKEN),
                    api_base=bot_api.base_url,
                    webhook_url=WEBHOOK_URL,
                    webhook_secret=SecretStr(SECRET),
                ),
                "lawyers": LawyerSettings(**{"hours": ALWAYS_OPEN, **lawyer_settings}),
            }
        )
        app = await create_app(settings, detector=detector, clock=clock)
        telegram = create_telegram(settings, app)
        client = TestClient(TestServer(create_web_app(app, telegram), host="127.0.0.1"))
        await client.start_server()
        stack = HandoffStack(app, telegram, client, bot_api, clock)
        built.append(stack)
        return stack

    yield build
    for stack in built:
        await stop(stack)


async def stop(stack: HandoffStack) -> None:
    """Shut a stack down as `pana serve` does (idempotent)."""
    if not stack.stopped:
        stack.stopped = True
        await stack.client.close()
        await stack.app.close()


@pytest.fixture
async def stack(build_stack: StackFactory) -> HandoffStack:
    return await build_stack()
