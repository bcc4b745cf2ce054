"""`pana serve --workers 2` over two Rasa replicas, PostgreSQL and Redis: a burst of people, one worker and one
replica killed in the middle of it, and every message answered, as Telegram would redeliver what got no answer.

A message is delivered again (same update) when its request got an HTTP error or no answer at all, as Telegram
does. A message whose first delivery did get a 200 must have been answered exactly once. One whose first
delivery died with the killed worker may have had its replies sent just before the kill and not yet confirmed:
its redelivery then sends them again (the reply outbox of the `turn` work closes that window); that is the
only repetition allowed, and it is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer
from bot.settings import DatabaseSettings, RasaSettings
from tests.conftest import PANA, REPO, TEST_RASA_PORT
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi, private_message

pytestmark = pytest.mark.postgres

SECRET = "workers-secret_1"
PEOPLE = 24
MESSAGES_EACH = 3
AT_ONCE = 8
ATTEMPTS = 10  # deliveries of one update, at most, within about a minute (Telegram retries for much longer)
BURST_LIMIT = 180.0  # seconds for the whole burst, at most
QUESTIONS = (
    "Как получить статус беженца в Казахстане?",
    "How do I apply for asylum?",
    "Мне нужен адвокат",
    "What documents do I need for a residence permit?",
    "Қазақстанда баспана сұрау үшін қайда бару керек?",
    "Где найти бесплатную юридическую помощь?",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def second_replica(rasa_server: NluServer, rasa_settings: RasaSettings) -> AsyncIterator[NluServer]:
    """A second Rasa replica with the session's trained model (killed by the test, stopped here otherwise)."""
    port = TEST_RASA_PORT + 100
    settings = rasa_settings.model_copy(update={"port": port, "url": f"http://127.0.0.1:{port}"})
    server = NluServer(settings, RasaProject(settings.project_dir), quiet=True, log_name=f"server-{port}.log")
    await server.start()
    yield server
    await server.stop()


@dataclass
class Delivery:
    update: dict[str, Any]
    chat_id: int
    attempts: int = 0
    first_unanswered: bool = False  # the first delivery got no HTTP answer (its worker died)
    replies: list[str] = field(default_factory=list)


async def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (state 0A in /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inodes.add(fields[9])
    return inodes


async def _listening_workers(supervisor: int, port: int, limit: float = 120) -> list[int]:
    """Both workers' pids, once each listens on the shared port (so the kill below hits one that serves)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        workers = await _children(supervisor)
        inodes = _listening_inodes(port)
        listening = [pid for pid in workers if _socket_inodes(pid) & inodes]
        if len(listening) == 2:
            return listening
        await asyncio.sleep(0.3)
    raise AssertionError("two workers never listened on the shared port")


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    with contextlib.suppress(OSError):  # the process or one of its descriptors may be gone meanwhile
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    found.add(target.removeprefix("socket:[").rstrip("]"))
    return found


async def _wait_listening(url: str, process: asyncio.subprocess.Process, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.returncode is None, "pana serve --workers exited"
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status in (200, 503):
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"nothing listens at {url}")


async def test_a_burst_survives_a_killed_worker_and_a_killed_replica(
    postgres_database: str | None,
    bot_api: FakeBotApi,
    rasa_settings: RasaSettings,
    second_replica: NluServer,
    tmp_path: Path,
) -> None:
    if postgres_database is None or not os.environ.get("REDIS_URL"):
        pytest.skip("needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    redis_url = os.environ["REDIS_URL"]
    redis = Redis.from_url(redis_url)
    await redis.flushdb()  # this test's Redis db: no state, locks or leases from earlier runs
    await redis.aclose()
    database_url = DatabaseSettings(url=postgres_database).url.get_secret_value()
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:  # an empty schema: the supervisor migrates it once
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    port = _free_port()
    replica_two = f"http://127.0.0.1:{TEST_RASA_PORT + 100}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "RASA_", "TELEGRAM_", "PANA_"))}
    env.update(
        DATABASE_URL=postgres_database,
        REDIS_URL=redis_url,
        RASA_URL=f"{rasa_settings.base_url},{replica_two}",
        RASA_SECRETS_DIR=str(rasa_settings.secrets_dir),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api.base_url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        PANA_PORT=str(port),
        PANA_VAR_DIR=str(tmp_path),
        PANA_LOG_LEVEL="WARNING",
        # A killed worker's messages are held by its turn lease (90 s by default) and then answered by a
        # redelivery or the sweep. Telegram keeps redelivering far longer than this test's ATTEMPTS (about a
        # minute), so the lease is shortened to fit the test's bound, not the other way round.
        PANA_TURN_LEASE_SECONDS="20",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        supervisor = await asyncio.create_subprocess_exec(
            *PANA,
            "serve",
            "--workers",
            "2",
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
    try:
        await _wait_listening(f"http://127.0.0.1:{port}/healthz", supervisor)
        workers = await _listening_workers(supervisor.pid, port)
        deliveries = await _burst(port, bot_api, supervisor.pid, second_replica, workers[0])
        metrics = await _metrics(port)
    finally:
        if supervisor.returncode is None:
            supervisor.send_signal(signal.SIGTERM)
        await asyncio.wait_for(supervisor.wait(), 60)
    logs = log_path.read_text()
    assert supervisor.returncode == 0, logs[-3000:]
    unanswered = [d.update["update_id"] for d in deliveries if not d.replies]
    assert not unanswered, f"messages never answered: {unanswered}\n{logs[-3000:]}"
    repeated = [d for d in deliveries if len(d.replies) != len(set(d.replies))]
    assert all(d.first_unanswered for d in repeated), "a message answered with a 200 was answered twice"
    async with engine.connect() as connection:
        inbound = (
            await connection.execute(
                text("SELECT count(*), count(DISTINCT channel_message_id) FROM messages WHERE direction = 'in'")
            )
        ).one()
        fallbacks = (
            await connection.execute(text("SELECT count(*) FROM messages WHERE intent = 'nlu_unavailable'"))
        ).scalar_one()
    await engine.dispose()
    assert inbound == (PEOPLE * MESSAGES_EACH, PEOPLE * MESSAGES_EACH), "each message stored once across workers"
    assert fallbacks == 0, "the surviving Rasa replica answered every classification"
    assert metrics >= 1, "the workers' shared /metrics counts turns"
    print(  # the figures this run shows (pytest -s)
        f"\n{len(deliveries)} messages, {sum(d.attempts for d in deliveries)} deliveries, "
        f"{sum(d.first_unanswered for d in deliveries)} lost with the worker, {len(repeated)} answered twice"
    )


async def _burst(port: int, api: FakeBotApi, supervisor: int, replica: NluServer, victim: int) -> list[Delivery]:
    """PEOPLE people, AT_ONCE at a time, each sending MESSAGES_EACH messages one after the other."""
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    people = [
        [
            Delivery(
                private_message(10_000 + p * 10 + m, QUESTIONS[(p + m) % len(QUESTIONS)], chat_id=50_000 + p),
                50_000 + p,
            )
            for m in range(MESSAGES_EACH)
        ]
        for p in range(PEOPLE)
    ]
    total = PEOPLE * MESSAGES_EACH
    done = 0
    killed = asyncio.Event()
    slots = asyncio.Semaphore(AT_ONCE)

    async def deliver(session: aiohttp.ClientSession, delivery: Delivery) -> None:
        before = len([c for c in api.sent() if c.get("chat_id") == str(delivery.chat_id)])
        while delivery.attempts < ATTEMPTS:
            delivery.attempts += 1
            try:
                async with session.post(
                    url,
                    json=delivery.update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as response:
                    if response.status == 200:
                        break
            except (aiohttp.ClientError, TimeoutError):
                delivery.first_unanswered |= delivery.attempts == 1
            await asyncio.sleep(min(0.5 * 2**delivery.attempts, 10))  # Telegram waits longer after each failure
        sent = [c for c in api.sent() if c.get("chat_id") == str(delivery.chat_id)]
        delivery.replies = [c["text"] for c in sent[before:]]

    async def person(session: aiohttp.ClientSession, messages: list[Delivery]) -> None:
        nonlocal done
        async with slots:
            for delivery in messages:
                await deliver(session, delivery)
                done += 1
                if done == total // 3 and not killed.is_set():
                    killed.set()
                    os.kill(victim, signal.SIGKILL)  # a worker dies with requests in flight
                    await replica.stop()  # and so does one Rasa replica

    connector = aiohttp.TCPConnector(force_close=True)  # each delivery a new connection, as from many IPs
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.wait_for(asyncio.gather(*(person(session, messages) for messages in people)), BURST_LIMIT)
    assert killed.is_set()
    assert len(await _children(supervisor)) == 2, "the supervisor replaced the killed worker"
    return [delivery for messages in people for delivery in messages]


async def _metrics(port: int) -> float:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        body = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith('pana_turns_total{channel="telegram"')
    )
