"""Done when: what a person wrote and their number are nowhere in clear, and after "delete my data" nowhere at all.

A marker sentence with a phone number goes through Telegram, WhatsApp and the terminal chat. Then the database
file (SQLite with its WAL) or a `pg_dump`, every Redis key and value, and every captured log record are read as
bytes: neither appears in clear. After the person deletes their data, neither appears decrypted in any row, and
neither their channel id nor its keyed hash is left in the database or Redis.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.app import App, create_app
from bot.channels.console import ConsoleChannel
from bot.core.language import LanguageDetector
from bot.logs import install_redaction, uninstall_redaction
from bot.nlu.server import NluServer
from bot.registry import create_telegram, create_whatsapp
from bot.settings import RasaSettings, Settings, TelegramSettings
from bot.storage.schema import metadata
from bot.web import create_web_app
from tests.conftest import make_settings, record
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi, button_press, private_message, signed
from tests.whatsapp.conftest import TEMPLATES, inbound_form, numbered, signature, whatsapp_settings
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, SENDER, FakeTwilioApi

MARKER = "Saule hides from the traffickers at 14 Dostyk street"
PHONE = "+77015550142"
SAID = f"{MARKER}, call me on {PHONE}"
CHAT = 918273645


@pytest.fixture(autouse=True)
def _redacting_logs() -> Iterator[None]:
    """Logs as `pana` writes them: through the redacting filter, here down to DEBUG."""
    install_redaction()
    yield
    uninstall_redaction()


@pytest.fixture(params=["no-redis", "redis"])
async def redis_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """Without Redis, or with this worker's own Redis database (emptied, as every key in it is scanned)."""
    if request.param == "no-redis":
        yield None
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    redis = Redis.from_url(url)
    await redis.flushdb()
    yield url
    await redis.flushdb()
    await redis.aclose()


def _settings(database_url: str, redis_url: str | None, rasa: RasaSettings) -> Settings:
    settings = make_settings(database_url, rasa)
    redis = settings.redis.model_copy(update={"url": SecretStr(redis_url) if redis_url else None})
    return settings.model_copy(update={"redis": redis})


async def _database_bytes(app: App) -> bytes:
    url = make_url(app.settings.database.url.get_secret_value())
    if url.get_backend_name() == "sqlite":
        await app.engine.dispose()  # nothing held back in a connection; the WAL is read as it is
        database = Path(str(url.database))
        companions = [database.with_name(database.name + suffix) for suffix in ("", "-wal")]
        return b"".join(path.read_bytes() for path in companions if path.exists())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([pg_dump, "--data-only", plain], check=True, capture_output=True, timeout=60).stdout


async def _redis_bytes(app: App) -> bytes:
    if app.redis is None:
        return b""
    found = []
    async for key in app.redis.scan_iter(count=500):
        found.append(key)
        kind = (await app.redis.type(key)).decode()
        if kind == "string":
            found.append(await app.redis.get(key) or b"")
        elif kind == "hash":
            found.extend(b"%s=%s" % pair for pair in (await app.redis.hgetall(key)).items())
        elif kind == "list":
            found.extend(await app.redis.lrange(key, 0, -1))  # type: ignore[misc]
        elif kind == "set":
            found.extend(await app.redis.smembers(key))  # type: ignore[misc]
        elif kind == "zset":
            found.extend(await app.redis.zrange(key, 0, -1))
    return b"\n".join(found)


async def _rows_decrypted(app: App) -> str:
    """Every row of every table as Pana reads it, encrypted columns opened."""
    lines = []
    async with record(app)() as session:
        for table in metadata.sorted_tables:
            lines.extend(str(tuple(row)) for row in (await session.execute(select(table))).all())
    return "\n".join(lines)


def _logs(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


async def _assert_nothing_clear(app: App, caplog: pytest.LogCaptureFixture, channel_id: str) -> None:
    database, redis, logs = await _database_bytes(app), await _redis_bytes(app), _logs(caplog)
    for clear in (MARKER, PHONE, channel_id):
        assert clear.encode() not in database, f"{clear!r} in clear in the database"
        assert clear.encode() not in redis, f"{clear!r} in clear in Redis"
        assert clear not in logs, f"{clear!r} in a log record"


async def _assert_no_trace(app: App, caplog: pytest.LogCaptureFixture, channel: str, channel_id: str) -> None:
    await _assert_nothing_clear(app, caplog, channel_id)
    rows = await _rows_decrypted(app)
    for clear in (MARKER, PHONE, channel_id):
        assert clear not in rows, f"{clear!r} still in a row after the deletion"
    database, redis = await _database_bytes(app), await _redis_bytes(app)
    hashes = {app.keyring.blind(channel_id), app.keyring.blind(f"{channel}:{channel_id}")}
    for hashed in hashes:
        assert hashed.encode() not in database, "the person's keyed hash is still in the database"
        assert hashed.encode() not in redis, "the person's keyed hash is still in Redis"


Started = Callable[[Settings], Awaitable[tuple[App, TestClient, Any]]]


@pytest.fixture
async def started(detector: LanguageDetector) -> AsyncIterator[Started]:
    opened: list[tuple[App, TestClient]] = []

    async def start(settings: Settings) -> tuple[App, TestClient, Any]:
        app = await create_app(settings, detector=detector)
        runtime = create_telegram(settings, app) if settings.telegram.bot_token else create_whatsapp(settings, app)
        client = TestClient(TestServer(create_web_app(app, runtime), host="127.0.0.1"))
        await client.start_server()
        opened.append((app, client))
        return app, client, runtime

    yield start
    for app, client in opened:
        await client.close()
        await app.close()


async def test_telegram_leaves_no_trace(
    bot_api: FakeBotApi,
    database_url: str,
    redis_url: str | None,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    started: Started,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram = TelegramSettings(
        bot_token=SecretStr(TOKEN), api_base=bot_api.base_url, webhook_url=WEBHOOK_URL, webhook_secret=SecretStr("s")
    )
    settings = _settings(database_url, redis_url, rasa_settings).model_copy(update={"telegram": telegram})
    app, client, _ = await started(settings)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s"}

    async def post(update: dict) -> int:  # type: ignore[type-arg]
        return (await client.post("/telegram/webhook", json=update, headers=headers)).status

    with caplog.at_level(logging.DEBUG):
        assert await post(private_message(1, SAID, chat_id=CHAT, language="en")) == 200
        await _assert_nothing_clear(app, caplog, str(CHAT))
        assert await post(private_message(2, "/forget", chat_id=CHAT, language="en")) == 200
        bot_api.fail_next("sendMessage", status=400)  # the "Done" is refused: Telegram delivers the press again
        confirm = button_press(3, signed("delete:yes", CHAT), chat_id=CHAT, language="en")
        assert await post(confirm) == 500
        bot_api.fail_next("answerCallbackQuery", status=400)
        assert await post(confirm) == 200
        done = app.translations.gettext("Done. I have deleted everything I stored about you.", "en")
        assert done in bot_api.sent("sendMessage")[-1]["text"], "the redelivery says Done, not 'nothing deleted'"
        assert await post(private_message(1, SAID, chat_id=CHAT, language="en")) == 200  # an old update replayed
        await _assert_no_trace(app, caplog, "telegram", str(CHAT))


async def test_whatsapp_leaves_no_trace(
    twilio_api: FakeTwilioApi,
    database_url: str,
    redis_url: str | None,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    started: Started,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.whatsapp.conftest import PUBLIC_URL

    settings = whatsapp_settings(_settings(database_url, redis_url, rasa_settings), twilio_api, **TEMPLATES)
    app, client, runtime = await started(settings)

    inbound_forms: list[dict[str, str]] = []

    async def send(text: str, sid: str | None = None) -> int:
        form = inbound_form(text, user=PHONE, sid=sid)
        inbound_forms.append(form)
        headers = {"X-Twilio-Signature": signature(PUBLIC_URL + "/whatsapp/webhook", form)}
        return (await client.post("/whatsapp/webhook", data=form, headers=headers)).status

    with caplog.at_level(logging.DEBUG):
        first_sid = "SM" + "1" * 32
        assert await send(SAID, first_sid) == 200
        await twilio_api.wait_for(1, recipient=f"whatsapp:{PHONE}")
        await runtime.outbox.settled()
        await _assert_nothing_clear(app, caplog, PHONE)
        assert await send("delete my data") == 200
        asked = await twilio_api.wait_for(2, recipient=f"whatsapp:{PHONE}")
        yes = numbered(asked[-1]["Body"])[app.translations.gettext("Yes, delete", "en")]
        assert await send(yes) == 200
        sent = await twilio_api.wait_for(len(asked) + 1, recipient=f"whatsapp:{PHONE}")
        await runtime.outbox.settled()
        received = {form["MessageSid"] for form in inbound_forms}
        await twilio_api.wait_for_deleted(received | {m["Sid"] for m in sent[:-1]})  # theirs and ours, at Twilio
        goodbye = sent[-1]
        sid = goodbye["Sid"]
        form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered"}
        form |= {"AccountSid": ACCOUNT_SID, "From": SENDER, "To": f"whatsapp:{PHONE}", "ApiVersion": "2010-04-01"}
        callback = goodbye["StatusCallback"][len(PUBLIC_URL) :]
        headers = {"X-Twilio-Signature": signature(goodbye["StatusCallback"], form)}
        assert (await client.post(callback, data=form, headers=headers)).status == 204
        await twilio_api.wait_for_deleted({goodbye["Sid"]})  # and the "Done" too, once delivered
        assert await send(SAID, first_sid) == 200  # an old webhook replayed
        await runtime.outbox.settled()
        await _assert_no_trace(app, caplog, "whatsapp", PHONE)


async def test_terminal_chat_leaves_no_trace(
    database_url: str,
    redis_url: str | None,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = await create_app(_settings(database_url, redis_url, rasa_settings), detector=detector)
    try:
        chat = ConsoleChannel(app.conversation, user_id="terminal-7")
        with caplog.at_level(logging.DEBUG):
            await chat.send(SAID)
            await _assert_nothing_clear(app, caplog, "terminal-7")
            await chat.send("delete my data")
            await chat.send("yes")
            await _assert_no_trace(app, caplog, "console", "terminal-7")
    finally:
        await app.close()
