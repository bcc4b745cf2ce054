"""A message waiting for the same person's previous one gives up under Twilio's 15 s and answers 503 itself.

Twilio abandons a webhook after 15 s; a wait as long as that (it was 15 s, and unbounded with no Redis) made
Twilio drop the request before Pana answered, and a lock still busy ended as a 500 logged as a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from redis.asyncio import Redis

from bot.app import App, create_app
from bot.channels.locks import PersonLocks
from bot.core.language import LanguageDetector
from bot.errors import InFlight, PersonBusy
from bot.nlu.server import NluServer
from bot.settings import TWILIO_WEBHOOK_TIMEOUT_SECONDS, PanaSettings, RasaSettings
from tests.conftest import make_settings
from tests.whatsapp.conftest import TEMPLATES, USER, WhatsAppStack, message_sid, running_stack, whatsapp_settings
from tests.whatsapp.fake_twilio_api import FakeTwilioApi

SHORT_WAIT = 0.2  # seconds: what PANA_PERSON_WAIT_SECONDS would be, short so the test does not idle
HANG_GUARD = 30.0  # a request that never answers fails the test instead of hanging it


@pytest.mark.fast
def test_the_default_wait_is_clearly_under_twilios_timeout_and_a_longer_one_is_refused() -> None:
    assert PanaSettings().person_wait_seconds == 10.0
    assert PanaSettings().person_wait_seconds <= TWILIO_WEBHOOK_TIMEOUT_SECONDS - 5, "room for the turn itself"
    with pytest.raises(ValidationError):
        PanaSettings(person_wait_seconds=TWILIO_WEBHOOK_TIMEOUT_SECONDS)
    with pytest.raises(ValidationError):
        PanaSettings(person_wait_seconds=0)


@pytest.fixture
async def short_wait_stack(
    twilio_api: FakeTwilioApi,
    database_url: str,
    rasa_server: NluServer,
    rasa_settings: RasaSettings,
    detector: LanguageDetector,
) -> AsyncIterator[WhatsAppStack]:
    base = make_settings(database_url, rasa_settings)
    base = base.model_copy(update={"pana": base.pana.model_copy(update={"person_wait_seconds": SHORT_WAIT})})
    async with running_stack(whatsapp_settings(base, twilio_api, **TEMPLATES), twilio_api, detector) as started:
        yield started


@pytest.mark.asyncio
async def test_a_message_kept_waiting_by_the_persons_previous_one_gets_503_and_its_retry_is_answered(
    short_wait_stack: WhatsAppStack,
) -> None:
    stack = short_wait_stack
    sid = message_sid()
    async with stack.app.person_locks.hold(f"whatsapp:{USER}"):  # the previous message, still being handled
        busy = await asyncio.wait_for(stack.send("Привет", sid=sid), HANG_GUARD)
        assert busy.status == 503, await busy.text()
        assert (await stack.counts())[1] == 0, "nothing stored: Twilio's retry brings it again"
    retried = await asyncio.wait_for(stack.send("Привет", sid=sid), HANG_GUARD)
    assert retried.status == 200
    assert await stack.replies(1), "the retry is answered"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    client = Redis.from_url(url)
    yield client
    await client.aclose()


async def _take_and_leave(locks: PersonLocks, key: str) -> None:
    async with locks.hold(key):
        pass


@pytest.fixture
async def two_workers(redis: Redis, tmp_path: Path, rasa_settings: RasaSettings) -> AsyncIterator[list[App]]:
    """Two workers' apps sharing one database and Redis, with a short wait for a person."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'pana.db'}", rasa_settings)
    settings = settings.model_copy(
        update={
            "redis": settings.redis.model_copy(update={"url": SecretStr(os.environ["REDIS_URL"])}),
            "pana": settings.pana.model_copy(update={"person_wait_seconds": SHORT_WAIT}),
        }
    )
    apps = [await create_app(settings) for _ in range(2)]
    yield apps
    for app in apps:
        await app.close()


@pytest.mark.asyncio
async def test_across_workers_the_wait_is_bounded_and_ends_in_flight(two_workers: list[App]) -> None:
    key = f"whatsapp:+7701{uuid.uuid4().int % 10**7:07d}"  # its own person: other tests may share this Redis db
    first, second = two_workers
    async with first.person_locks.hold(key):
        with pytest.raises(PersonBusy) as raised:
            await asyncio.wait_for(_take_and_leave(second.person_locks, key), HANG_GUARD)
        assert isinstance(raised.value, InFlight), "a 503 (delivered again), not a 500"
        with pytest.raises(PersonBusy):  # in the same worker too: the in-process layer is bounded as well
            await asyncio.wait_for(_take_and_leave(first.person_locks, key), HANG_GUARD)
    await asyncio.wait_for(_take_and_leave(second.person_locks, key), HANG_GUARD)  # free once the first is done
