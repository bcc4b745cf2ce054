"""Each dependency taken away and given back while people write: what they receive, and that nothing is lost.

Real Rasa, real databases, real Redis (a private redis-server), the real aiogram client against the local
Bot API stand-in; PostgreSQL and Rasa sit behind a TCP proxy the test cuts and restores, so the machine's
shared servers are never stopped.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import App, create_app
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_telegram
from bot.settings import DatabaseSettings, RasaSettings, RedisSettings, Settings, TelegramSettings
from bot.storage.tables import MessageRow
from bot.web import CachedHealth, create_web_app
from tests.conftest import make_settings, record
from tests.faults.outages import PrivateRedis, TcpProxy
from tests.telegram.fake_bot_api import TOKEN, WEBHOOK_URL, FakeBotApi, private_message
from tests.whatsapp.conftest import TEMPLATES, start_stack, whatsapp_settings
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

SECRET = "outage-secret"
EMERGENCY = "112"
_updates = itertools.count(50_000)


@dataclass
class Stack:
    app: App
    client: TestClient
    api: FakeBotApi

    async def write(self, text: str, *, chat_id: int = 777, language: str = "en") -> str:
        """Post a private message; the text of everything Pana sent back to that chat for it."""
        before = len(self.api.sent())
        response = await self.client.post(
            "/telegram/webhook",
            json=private_message(next(_updates), text, chat_id=chat_id, language=language),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 200, await response.text()
        return "\n".join(params["text"] for params in self.api.sent()[before:] if params["chat_id"] == str(chat_id))

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        response = await self.client.get(path)
        return response.status, await response.json()


Build = Callable[[Settings], Awaitable[Stack]]


@pytest.fixture
async def build(bot_api: FakeBotApi, detector: LanguageDetector) -> AsyncIterator[Build]:
    built: list[Stack] = []

    async def make(settings: Settings) -> Stack:
        settings = settings.model_copy(
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
        health = CachedHealth(app, ttl_seconds=0)  # every call checks: the test sees each change at once
        client = TestClient(TestServer(create_web_app(health, telegram), host="127.0.0.1"))
        await client.start_server()
        stack = Stack(app, client, bot_api)
        built.append(stack)
        return stack

    yield make
    for stack in built:
        await stack.client.close()
        await stack.app.close()


async def inbound_count(app: App) -> int:
    async with record(app)() as session:
        query = select(func.count()).select_from(MessageRow).where(MessageRow.direction == "in")
        return int(await session.scalar(query) or 0)


async def test_redis_stopped_and_started_again_every_message_is_answered(
    build: Build, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    redis = PrivateRedis(tmp_path)
    await redis.start()
    try:
        settings = make_settings(database_url, rasa_settings).model_copy(
            update={"redis": RedisSettings(url=SecretStr(redis.url))}
        )
        stack = await build(settings)
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?")).lower()
        assert (await stack.get("/healthz"))[1]["redis"] == "ok"

        redis.stop()
        during = await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=778)
        assert "asylum" in during.lower(), "answered from the in-process stores"
        status, body = await stack.get("/healthz")
        assert status == 200 and body["status"] == "degraded" and body["redis"].startswith("unreachable")
        assert (await stack.get("/readyz"))[0] == 200, "still worth sending traffic to"

        await redis.start()
        stack.app.claims.health._last_try = float("-inf")  # type: ignore[union-attr]  # skip the retry pause
        after = await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=779)
        assert "asylum" in after.lower()
        assert (await stack.get("/healthz"))[1]["redis"] == "ok"
        assert await inbound_count(stack.app) == 3, "nothing lost"
    finally:
        redis.stop()


@pytest.mark.postgres
async def test_postgresql_stopped_people_get_the_emergency_numbers_and_nothing_is_stored(
    build: Build, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings
) -> None:
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    if url.get_backend_name() != "postgresql":
        pytest.skip("the database outage is played on PostgreSQL (behind a proxy)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        stack = await build(make_settings(proxied, rasa_settings))
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?")).lower()

        await proxy.cut()
        for language, text in (("en", "How do I apply for asylum?"), ("ru", "Меня задержала полиция")):
            static = await stack.write(text, chat_id=780, language=language)
            assert EMERGENCY in static, "the emergency numbers, from the content"
            assert (
                stack.app.translations.gettext(
                    "I have a technical problem right now: I cannot answer your message, and it was not saved. "
                    "Please write again later.",
                    language,
                )
                in static
            ), "honest: not answered, not kept, nothing promised"
        assert stack.app.dialogue.static_replies == 2
        assert (await stack.get("/healthz"))[0] == 503
        status, body = await stack.get("/readyz")
        assert status == 503 and body["reason"] == "database unreachable"

        await proxy.restore()
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=781)).lower()
        assert (await stack.get("/readyz"))[0] == 200
        assert await inbound_count(stack.app) == 2, "what came during the outage was not stored"
    finally:
        await proxy.close()


async def test_rasa_stopped_people_get_the_menu_and_contacts_then_answers_again(
    build: Build, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings
) -> None:
    proxy = TcpProxy("127.0.0.1", rasa_settings.port)
    await proxy.start()
    try:
        proxied = rasa_settings.model_copy(update={"url": f"http://127.0.0.1:{proxy.port}", "timeout": 2.0})
        stack = await build(make_settings(database_url, proxied))
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?")).lower()

        await proxy.cut()
        down = await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=782)
        intro = stack.app.translations.gettext(
            "I cannot read free text right now. Please choose a topic below. "
            "For legal help, you can also contact these organisations:",
            "en",
        )
        assert intro in down
        assert (await stack.get("/healthz"))[1]["nlu"] == "unreachable"

        await proxy.restore()
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=783)).lower()
        assert await inbound_count(stack.app) == 3, "nothing lost"
    finally:
        await proxy.close()


@pytest.mark.postgres
async def test_postgresql_stopped_whatsapp_gets_the_static_reply_in_the_webhook_answer(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> None:
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    if url.get_backend_name() != "postgresql":
        pytest.skip("the database outage is played on PostgreSQL (behind a proxy)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    stack = await start_stack(
        whatsapp_settings(make_settings(proxied, rasa_settings), twilio_api, **TEMPLATES), twilio_api, detector
    )
    try:
        await proxy.cut()
        response = await stack.send("Меня задержала полиция")
        assert response.status == 200
        twiml = await response.text()
        assert twiml.count("<Message>") >= 2 and EMERGENCY in twiml, "Twilio sends the static reply itself"
        await proxy.restore()
        assert await stack.counts() == (0, 0, 0), "nothing was stored"
    finally:
        await stack.client.close()
        await stack.app.close()
        await proxy.close()


@pytest.mark.postgres
async def test_postgresql_lost_mid_turn_the_static_reply_is_the_one_answer(
    build: Build, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings
) -> None:
    """Stored, then the database goes while Rasa reads it: the static reply now, no second answer later."""
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    if url.get_backend_name() != "postgresql":
        pytest.skip("the database outage is played on PostgreSQL (behind a proxy)")
    database = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    rasa = TcpProxy("127.0.0.1", rasa_settings.port)
    await database.start()
    await rasa.start()
    try:
        proxied = url.set(host="127.0.0.1", port=database.port).render_as_string(hide_password=False)
        proxied_rasa = rasa_settings.model_copy(update={"url": f"http://127.0.0.1:{rasa.port}"})
        settings = make_settings(proxied, proxied_rasa)
        # The sweep may take any unanswered message at once: without the fix it would answer 791 a second time.
        pana = settings.pana.model_copy(update={"recovery_grace_seconds": 0.0, "turn_lease_seconds": 0.001})
        stack = await build(settings.model_copy(update={"pana": pana}))
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=790)).lower()

        rasa.on_request = database.cut  # the message is stored by now; the decision never will be
        static = await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=791)
        assert EMERGENCY in static and stack.app.dialogue.static_replies == 1
        # It was stored before the database went: the reply must not claim otherwise (it did).
        assert "not saved" not in static and "I cannot answer your message. Please write again later." in static

        await database.restore()
        assert "asylum" in (await stack.write("How do I apply for asylum in Kazakhstan?", chat_id=792)).lower()
        async with record(stack.app)() as session:
            unanswered = await session.scalar(
                select(func.count())
                .select_from(MessageRow)
                .where(MessageRow.direction == "in", MessageRow.answered_at.is_(None))
            )
        assert unanswered == 0, "the static reply answered it: the recovery sweep has nothing to send"
        assert await stack.app.recovery.run_once() == 0, "the sweep (Telegram's replay registered) sends nothing"
        assert await inbound_count(stack.app) == 3, "all three are in the record"
        to_791 = [params["text"] for params in stack.api.sent() if params["chat_id"] == "791"]
        assert "\n".join(to_791) == static, "one answer: the static reply, nothing after it"
    finally:
        await rasa.close()
        await database.close()


@pytest.mark.postgres
async def test_a_worker_restarted_before_the_record_is_back_sends_no_second_answer_either(
    build: Build, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    """Regression: the static reply's message was settled from a list kept in memory only. A worker restarted
    during the outage forgot it, and the next worker's recovery sweep answered the message a second time."""
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    if url.get_backend_name() != "postgresql":
        pytest.skip("the database outage is played on PostgreSQL (behind a proxy)")
    database = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    rasa = TcpProxy("127.0.0.1", rasa_settings.port)
    redis = PrivateRedis(tmp_path)
    await database.start()
    await rasa.start()
    await redis.start()
    try:
        proxied = url.set(host="127.0.0.1", port=database.port).render_as_string(hide_password=False)
        proxied_rasa = rasa_settings.model_copy(update={"url": f"http://127.0.0.1:{rasa.port}"})
        settings = make_settings(proxied, proxied_rasa)
        pana = settings.pana.model_copy(update={"recovery_grace_seconds": 0.0, "turn_lease_seconds": 0.001})
        settings = settings.model_copy(update={"pana": pana, "redis": RedisSettings(url=SecretStr(redis.url))})
        before = await build(settings)
        rasa.on_request = database.cut  # the message is stored by now; the decision never will be
        static = await before.write("How do I apply for asylum in Kazakhstan?", chat_id=793)
        assert EMERGENCY in static and before.app.dialogue.static_replies == 1
        await before.client.close()
        await before.app.close()  # the worker stops while the database is still away

        await database.restore()
        after = await build(settings)  # the next worker: nothing of the first one's memory
        assert await after.app.recovery.run_once() == 0, "the sweep replays nothing: the static reply answered it"
        async with record(after.app)() as session:
            unanswered = await session.scalar(
                select(func.count())
                .select_from(MessageRow)
                .where(MessageRow.direction == "in", MessageRow.answered_at.is_(None))
            )
        assert unanswered == 0, "marked answered by the sweep of the next worker"
        to_793 = [params["text"] for params in after.api.sent() if params["chat_id"] == "793"]
        assert "\n".join(to_793) == static, "one answer: the static reply, nothing after it"
    finally:
        redis.stop()
        await rasa.close()
        await database.close()


@pytest.mark.postgres
async def test_whatsapp_static_reply_mid_turn_is_the_one_answer_the_sweep_sends_nothing_later(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> None:
    """Stored, then the database goes while Rasa reads it: the TwiML static reply, and no second answer later."""
    url = make_url(DatabaseSettings(url=database_url).url.get_secret_value())
    if url.get_backend_name() != "postgresql":
        pytest.skip("the database outage is played on PostgreSQL (behind a proxy)")
    database = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    rasa = TcpProxy("127.0.0.1", rasa_settings.port)
    await database.start()
    await rasa.start()
    proxied = url.set(host="127.0.0.1", port=database.port).render_as_string(hide_password=False)
    proxied_rasa = rasa_settings.model_copy(update={"url": f"http://127.0.0.1:{rasa.port}"})
    settings = whatsapp_settings(make_settings(proxied, proxied_rasa), twilio_api, **TEMPLATES)
    # The sweep may take any unanswered message at once
    pana = settings.pana.model_copy(update={"recovery_grace_seconds": 0.0, "turn_lease_seconds": 0.001})
    stack = await start_stack(settings.model_copy(update={"pana": pana}), twilio_api, detector)
    try:
        rasa.on_request = database.cut  # the message is stored by now; the decision never will be
        response = await stack.send("How do I apply for asylum in Kazakhstan?")
        assert response.status == 200 and EMERGENCY in await response.text(), "the static reply, in the answer"
        await database.restore()
        await stack.app.recovery.run_once()
        await stack.runtime.outbox.settled()
        assert twilio_api.messages == [], "the static reply was the answer: nothing sent through the API after it"
        assert await stack.app.recovery.run_once() == 0
    finally:
        await stack.client.close()
        await stack.app.close()
        await rasa.close()
        await database.close()


async def test_bot_api_failing_for_a_while_each_reply_arrives_once_after_retry_after(
    build: Build, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings
) -> None:
    """The Bot API answers 500, 502, 503, then 429 (retry after 2 s), then recovers, while someone writes."""
    stack = await build(make_settings(database_url, rasa_settings))
    stack.api.outage("sendMessage", 500, 502, 503, 429, retry_after=2)
    response = await stack.client.post(
        "/telegram/webhook",
        json=private_message(next(_updates), "How do I apply for asylum in Kazakhstan?", chat_id=793),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status == 200, "answered within the webhook request, after the retries"
    attempts = [call for call in stack.api.calls if call.method == "sendMessage"]
    assert [call.status for call in attempts[:5]] == [500, 502, 503, 429, 200]
    assert attempts[4].at - attempts[3].at >= 2, "the 429's retry_after was waited out, not cut short"
    delivered = [params["text"] for params in stack.api.delivered() if params["chat_id"] == "793"]
    assert delivered and "asylum" in delivered[0].lower()
    assert len(delivered) == len(set(delivered)), "nothing sent twice"
    async with record(stack.app)() as session:
        outbound = await session.scalar(
            select(func.count()).select_from(MessageRow).where(MessageRow.direction == "out")
        )
        unanswered = await session.scalar(
            select(func.count())
            .select_from(MessageRow)
            .where(MessageRow.direction == "in", MessageRow.answered_at.is_(None))
        )
    assert (outbound, unanswered) == (len(delivered), 0), "every stored reply went out once; nothing left over"


async def test_twilio_failing_for_a_while_each_reply_arrives_once(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> None:
    """Twilio answers 503, 500, 503, then 429 (retry after 2 s), then recovers: every reply goes through once."""
    stack = await start_stack(
        whatsapp_settings(make_settings(database_url, rasa_settings), twilio_api, **TEMPLATES), twilio_api, detector
    )
    try:
        for status, code in ((503, 20500), (500, 20500), (503, 20500)):
            twilio_api.fail_next(status, code)
        twilio_api.fail_next(429, 20429, retry_after=2)
        response = await stack.send("How do I apply for asylum in Kazakhstan?")
        assert response.status == 200
        bodies = await stack.replies(1)
        deliveries = []
        for _ in range(200):  # bounded: until every stored reply left the ledger's queue
            deliveries = await stack.deliveries()
            if deliveries and all(d.status not in ("ready", "submitting") for d in deliveries):
                break
            await asyncio.sleep(0.1)
        assert deliveries and all(d.status == "queued" for d in deliveries), "each one accepted by Twilio"
        bodies = [m.get("Body", "") for m in twilio_api.messages]
        assert len(bodies) == len(deliveries) and len(set(bodies)) == len(bodies), "each reply sent exactly once"
        assert "asylum" in " ".join(bodies).lower()
        assert len(twilio_api.attempts) == len(bodies) + 4, "four refusals, then one accepted try per reply"
        after_429 = twilio_api.attempted_at[4] - twilio_api.attempted_at[3]
        assert after_429 >= 2, f"the 429's Retry-After was waited out, not cut short ({after_429:.2f} s)"
    finally:
        await stack.client.close()
        await stack.app.close()
