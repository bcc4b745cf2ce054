"""Shared fixtures: the real Rasa server (once per session), real databases, the assembled app."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

import bot.channels.telegram  # noqa: F401  # first: aiogram as a worker imports it, models deferred (lazy_models.py)
from bot.app import App, create_app
from bot.core.language import LanguageDetector
from bot.core.messages import IncomingMessage, Turn
from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer
from bot.settings import DatabaseSettings, RasaSettings, Settings, load_settings
from bot.storage.database import create_engine, migrate, session_factory
from tests.keys import TEST_KEY, TEST_KEYRING
from tests.telegram.fake_bot_api import FakeBotApi
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

REPO = Path(__file__).resolve().parent.parent
PANA = (sys.executable, "-m", "bot")  # the CLI of the interpreter running the tests, wherever its venv is
TEST_RASA_PORT = int(os.environ.get("PANA_TEST_RASA_PORT", "5055"))


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres", "postgresql")) else None


@pytest.fixture(scope="session")
def rasa_settings() -> RasaSettings:
    return RasaSettings(host="127.0.0.1", port=TEST_RASA_PORT, url=f"http://127.0.0.1:{TEST_RASA_PORT}")


@pytest.fixture(scope="session")
async def rasa_server(rasa_settings: RasaSettings) -> AsyncIterator[NluServer]:
    """The real Rasa server with this checkout's model, started once for the whole session."""
    project = RasaProject(rasa_settings.project_dir)
    project.train()
    async with NluServer(rasa_settings, project, quiet=True) as server:
        yield server


class NetworkUsed(AssertionError):
    """A fast test opened a connection: it belongs in the end-to-end suites, or a fake is missing."""


@pytest.fixture(autouse=True)
def _no_network_in_fast_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast tests (`-m fast`) fail loudly on any connection: no Rasa, no database server, no Redis, no network."""
    if request.node.get_closest_marker("fast") is None:
        return

    def refuse(sock: socket.socket, address: object) -> None:
        raise NetworkUsed(f"a fast test tried to connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(scope="session")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[str | None]:
    """A throwaway PostgreSQL database for this session, when DATABASE_URL points at a server."""
    base = _postgres_url()
    if base is None:
        yield None
        return
    admin_url = DatabaseSettings(url=base).url.get_secret_value()
    name = f"pana_test_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if _postgres_url() else ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on a database runs on both, but one marked `one_database` (its proof is not the storage's)."""
    chosen = (m.args[0] for m in metafunc.definition.iter_markers("parametrize"))  # a test may pick its own
    if "database_url" in metafunc.fixturenames and not any("database_url" in str(names) for names in chosen):
        one = metafunc.definition.get_closest_marker("one_database") is not None
        metafunc.parametrize("database_url", ["sqlite"] if one else _backends(), indirect=True)


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str | None) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'pana.db'}"
    assert postgres_database is not None
    url = DatabaseSettings(url=postgres_database).url.get_secret_value()
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:  # every test starts from an empty schema
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return postgres_database


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """This test's database (SQLite, and PostgreSQL where configured), migrated; disposed after the test."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    yield engine
    await engine.dispose()


def make_settings(database_url: str, rasa: RasaSettings, **policy: float) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "database": DatabaseSettings(url=database_url),
            "pana": base.pana.model_copy(update={"encryption_keys": SecretStr(TEST_KEY)}),
            "rasa": rasa,
            "redis": base.redis.model_copy(update={"url": None}),
            "policy": base.policy.model_copy(update=policy),
        }
    )


@pytest.fixture
async def app(
    database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, detector: LanguageDetector
) -> AsyncIterator[App]:
    """The whole assistant on the real Rasa server and a fresh database."""
    assembled = await create_app(make_settings(database_url, rasa_settings), detector=detector)
    yield assembled
    await assembled.close()


def record(app: App) -> async_sessionmaker[AsyncSession]:
    """Sessions on the app's database, for tests that read the record's rows directly."""
    return session_factory(app.engine)


Say = Callable[..., Awaitable[Turn]]


@pytest.fixture
def say(app: App) -> Say:
    """Send one message as a user and get the core's Turn back."""

    async def send(text: str = "", *, user: str = "u1", payload: str | None = None, **extra: str) -> Turn:
        message = IncomingMessage(channel="test", user_id=user, text=text, payload=payload, **extra)
        return await app.conversation.handle(message)

    return send


# Local stand-ins of the upstream APIs, shared by the Telegram, WhatsApp and handoff suites.
@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def twilio_api() -> AsyncIterator[FakeTwilioApi]:
    api = FakeTwilioApi()
    await api.start()
    yield api
    await api.close()
