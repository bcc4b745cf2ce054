"""The console on the whole system: real web app (Telegram webhook + console), aiogram against the Bot API
stand-in, real Rasa and database. `Staff` is one signed-in browser session driven over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import create_app
from bot.channels.whatsapp.factory import WhatsAppRuntime
from bot.clock import utc_now
from bot.console.context import Console
from bot.console.passwords import hash_password
from bot.console.totp import code_for, new_secret, step_at
from bot.core.language import LanguageDetector
from bot.languages import Language
from bot.nlu.server import NluServer
from bot.records.staff import Role, StaffRecord
from bot.registry import create_console, create_telegram, create_whatsapp
from bot.settings import ConsoleSettings, LawyerSettings, RasaSettings, Settings, TelegramSettings
from bot.web import create_web_app
from tests.conftest import make_settings
from tests.handoff.conftest import ALWAYS_OPEN, SECRET, Clock, HandoffStack
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi
from tests.whatsapp.conftest import PUBLIC_URL, TEMPLATES, WhatsAppStack, whatsapp_settings
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

PASSWORD = "correct horse battery staple"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class ConsoleStack(HandoffStack):
    console: Console | None = None
    base_url: str = ""
    signed_in: list[Staff] = field(default_factory=list)
    totp_secrets: dict[str, str] = field(default_factory=dict)  # username → secret, as their phone app holds it

    @property
    def desk(self) -> Console:
        assert self.console is not None
        return self.console

    async def add_staff(
        self,
        username: str,
        role: Role,
        *,
        telegram_id: int | None = None,
        languages: tuple[Language, ...] = ("en",),
        name: str | None = None,
        totp: bool | None = None,
    ) -> StaffRecord:
        """An account; supervisors and admins are enrolled for one-time codes unless `totp=False`."""
        added = await self.desk.staff.add(
            username=username,
            name=name or username.capitalize(),
            role=role,
            password_hash=hash_password(PASSWORD),
            languages=languages,
            telegram_id=telegram_id,
            now=utc_now(),
        )
        if totp if totp is not None else added.oversees:
            secret = new_secret()
            enrolled = await self.desk.staff.enrol_totp(username, secret, utc_now())
            assert enrolled is not None
            self.totp_secrets[username] = secret
            return enrolled
        return added

    def code(self, username: str, steps_later: int = 0) -> str:
        """The code the person's authenticator app shows now (by the console's clock)."""
        return code_for(self.totp_secrets[username], step_at(self.clock()) + steps_later)

    async def staff(self, username: str, password: str = PASSWORD, *, totp_code: str | None = None) -> Staff:
        """A new browser session, signed in (or refused: see `Staff.last`).

        When the console asks for a one-time code, `totp_code` is typed (the app's current code when None;
        nothing when empty)."""
        browser = Staff(self.base_url, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
        self.signed_in.append(browser)
        await browser.login(username, password)
        if "/console/code" in browser.url and username in self.totp_secrets and totp_code != "":
            await browser.post("/console/code", code=self.code(username) if totp_code is None else totp_code)
        return browser


@dataclass
class Staff:
    base_url: str
    http: aiohttp.ClientSession
    status: int = 0
    page: str = ""
    csrf: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    url: str = ""  # where the last response came from, after redirects

    async def get(self, path: str) -> str:
        async with self.http.get(self.base_url + path) as response:
            self.status, self.page, self.headers = response.status, await response.text(), dict(response.headers)
            self.url = str(response.url)
        found = CSRF.search(self.page)
        self.csrf = found.group(1) if found else self.csrf
        return self.page

    async def post(self, path: str, *, csrf: str | None = None, **form: Any) -> str:
        data = {"csrf": self.csrf if csrf is None else csrf, **form}
        async with self.http.post(self.base_url + path, data=data) as response:
            self.status, self.page, self.headers = response.status, await response.text(), dict(response.headers)
            self.url = str(response.url)
        found = CSRF.search(self.page)
        self.csrf = found.group(1) if found else self.csrf
        return self.page

    async def login(self, username: str, password: str) -> None:
        page = await self.get("/console/login?lang=en")
        token = FORM_TOKEN.search(page)
        assert token is not None
        async with self.http.post(
            self.base_url + "/console/login",
            data={"form_token": token.group(1), "username": username, "password": password},
        ) as response:
            self.status, self.page, self.headers = response.status, await response.text(), dict(response.headers)
            self.url = str(response.url)
        found = CSRF.search(self.page)
        self.csrf = found.group(1) if found else ""

    def cookie(self, name: str) -> Any:
        return next((c for c in self.http.cookie_jar if c.key == name), None)


def _settings(bot_api: FakeBotApi, database_url: str, rasa_settings: RasaSettings) -> Settings:
    return make_settings(database_url, rasa_settings).model_copy(
        update={
            "telegram": TelegramSettings(
                bot_token=SecretStr(TOKEN),
                api_base=bot_api.base_url,
                webhook_url=WEBHOOK_URL,
                webhook_secret=SecretStr(SECRET),
            ),
            "lawyers": LawyerSettings(hours=ALWAYS_OPEN),
            "console": ConsoleSettings(poll_seconds=0.2, login_attempts=3),
        }
    )


async def _start(
    settings: Settings, bot_api: FakeBotApi, detector: LanguageDetector, *, whatsapp: bool = False
) -> tuple[ConsoleStack, WhatsAppRuntime | None]:
    """One `pana serve` with Telegram and the console, and WhatsApp when asked."""
    clock = Clock(utc_now())
    app = await create_app(settings, detector=detector, clock=clock)
    telegram = create_telegram(settings, app)
    routes = create_console(settings, app)
    runtime = create_whatsapp(settings, app) if whatsapp else None
    parts = (telegram, routes, runtime) if runtime is not None else (telegram, routes)
    client = TestClient(TestServer(create_web_app(app, *parts), host="127.0.0.1"))
    await client.start_server()
    stack = ConsoleStack(app, telegram, client, bot_api, clock, console=routes.console)
    stack.base_url = str(client.make_url("")).rstrip("/")
    return stack, runtime


async def _stop(stack: ConsoleStack) -> None:
    for browser in stack.signed_in:
        await browser.http.close()
    await stack.client.close()
    await stack.app.close()


@pytest.fixture
async def console_stack(
    bot_api: FakeBotApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[ConsoleStack]:
    stack, _ = await _start(_settings(bot_api, database_url, rasa_settings), bot_api, detector)
    yield stack
    await _stop(stack)


@pytest.fixture
async def console_whatsapp(
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[tuple[ConsoleStack, WhatsAppStack]]:
    """The console with a person on WhatsApp (the Twilio stand-in posts its status callbacks to this app)."""
    settings = whatsapp_settings(_settings(bot_api, database_url, rasa_settings), twilio_api, **TEMPLATES)
    stack, runtime = await _start(settings, bot_api, detector, whatsapp=True)
    assert runtime is not None
    twilio_api.route_callbacks(PUBLIC_URL, stack.base_url)
    yield stack, WhatsAppStack(stack.app, runtime, stack.client, twilio_api)
    await _stop(stack)
