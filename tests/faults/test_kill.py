"""kill -9 at every step of a turn on Telegram, against real `pana serve` processes: nothing lost, nothing twice.

The chain itself is tests/faults/chain.py. Telegram's behaviour is reproduced: through the webhook, an update
is posted again until the webhook answers 200; in long polling (one chain, on PostgreSQL when it is configured:
the transport is what differs), updates wait in the local Bot API until a getUpdates offset confirms them, as
Telegram keeps them. Real Rasa, real Redis when REDIS_URL is set (a killed process's claim must not block the
redelivery), the local Bot API.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.nlu.server import NluServer
from bot.settings import RasaSettings
from tests.conftest import _backends
from tests.faults.chain import (
    Serve,
    check_chain,
    cut_off_announcements,
    cut_off_attempts,
    free_port,
    run_chain,
    serve_env,
)
from tests.telegram.fake_bot_api import FakeBotApi, private_message

pytestmark = pytest.mark.asyncio

SECRET = "kill-secret_1"


@dataclass
class TelegramUpdates:
    """What both Telegram transports share: a person is a private chat; what they received is in the Bot API."""

    api: FakeBotApi
    channel: str = "telegram"
    statuses: Counter[int] = field(default_factory=Counter)
    # claims in a shared Redis outlive a test: never reuse an update id
    next_update_id: int = field(default_factory=lambda: random.randrange(10**8, 10**9))

    def address(self, person: int) -> str:
        return str(person)

    def received(self, person: int) -> list[str]:
        return [str(m["text"]) for m in self.api.sent() if int(m["chat_id"]) == person]

    def update(self, person: int, text: str) -> dict[str, Any]:
        self.next_update_id += 1
        return private_message(self.next_update_id, text, chat_id=person)


@dataclass
class Webhook(TelegramUpdates):
    """Telegram's side of the webhook: every update is posted until it gets a 200."""

    port: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)

    def add(self, person: int, text: str) -> None:
        self.pending.append(self.update(person, text))

    async def push(self) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for update in list(self.pending):
                try:
                    async with session.post(
                        f"http://127.0.0.1:{self.port}/telegram/webhook", json=update, headers=headers
                    ) as response:
                        self.statuses[response.status] += 1
                        if response.status == 200:
                            self.pending.remove(update)
                except (aiohttp.ClientError, TimeoutError):  # the process died under the request
                    self.statuses[0] += 1
                    return


@dataclass
class Polling(TelegramUpdates):
    """Telegram's side of long polling: an update is handed out until a getUpdates offset confirms it."""

    @property
    def pending(self) -> list[dict[str, Any]]:
        return self.api.updates

    def add(self, person: int, text: str) -> None:
        self.api.queue_update(self.update(person, text))

    async def push(self) -> None:
        """Nothing to push: the process asks for updates itself."""


@pytest.fixture
async def webhook_env(
    bot_api: FakeBotApi, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> AsyncIterator[tuple[Serve, Webhook]]:
    port = free_port()
    env = serve_env(bot_api, database_url, rasa_settings, tmp_path, port)
    env.update(TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET=SECRET)
    serve = Serve(env, port, tmp_path)
    yield serve, Webhook(bot_api, port=port)
    await serve.stop()


@pytest.fixture
async def polling_env(
    bot_api: FakeBotApi, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> AsyncIterator[tuple[Serve, Polling]]:
    port = free_port()  # no webhook: the port serves /healthz only
    serve = Serve(serve_env(bot_api, database_url, rasa_settings, tmp_path, port), port, tmp_path)
    yield serve, Polling(bot_api)
    await serve.stop()


async def test_kill_9_at_every_step_loses_nothing_and_answers_once(
    webhook_env: tuple[Serve, Webhook], bot_api: FakeBotApi, database_url: str
) -> None:
    serve, telegram = webhook_env
    report = await run_chain(serve, telegram, bot_api, database_url, "webhook", first_id=9100)
    await check_chain(report, telegram, database_url, one_reply_per_row=True)


async def test_kill_9_between_a_relays_send_and_its_mark_sends_it_again_once(
    webhook_env: tuple[Serve, Webhook], bot_api: FakeBotApi, database_url: str
) -> None:
    """The one duplicate the chain allows, made on purpose: Telegram has no idempotency key, so a relay the Bot API
    took and the record had not marked sent when its process died goes out again after its lease (at least once,
    never lost), and its record shows the attempt cut off (the chain's check allows it for that reason only)."""
    serve, telegram = webhook_env
    report = await run_chain(
        serve, telegram, bot_api, database_url, "webhook, killed mid-relay", first_id=9100, points=("relay_sent",)
    )
    await check_chain(report, telegram, database_url, one_reply_per_row=True)
    assert len(report.to_lawyer) == 2 and len(set(report.to_lawyer)) == 1, "sent again once, after the kill"
    assert await cut_off_attempts(database_url) == {report.to_lawyer[0]: 1}


async def test_kill_9_between_an_announcements_send_and_its_mark_announces_it_again_once(
    webhook_env: tuple[Serve, Webhook], bot_api: FakeBotApi, database_url: str
) -> None:
    """The same duplicate for a waiting case's announcement: the lawyers got it, the case was not marked announced
    when its process died, so the next process announces it again after the lease, and the case's record shows
    the attempt cut off (the chain's check allows the second announcement for that reason only)."""
    serve, telegram = webhook_env
    report = await run_chain(
        serve,
        telegram,
        bot_api,
        database_url,
        "webhook, killed mid-announcement",
        first_id=9100,
        points=("announcement_sent",),
    )
    await check_chain(report, telegram, database_url, one_reply_per_row=True)
    assert report.announcements == 2, "announced again once, after the kill"
    assert report.waiting_case_id is not None
    assert await cut_off_announcements(database_url) == {report.waiting_case_id: 1}


async def test_kill_9_at_every_step_in_long_polling_loses_nothing_and_answers_once(
    polling_env: tuple[Serve, Polling], bot_api: FakeBotApi, database_url: str
) -> None:
    if database_url.startswith("sqlite") and len(_backends()) > 1:
        pytest.skip("long polling's chain runs once, on PostgreSQL: the webhook chain covers both backends")
    serve, telegram = polling_env
    report = await run_chain(serve, telegram, bot_api, database_url, "long polling", first_id=9100)
    await check_chain(report, telegram, database_url, one_reply_per_row=True)
