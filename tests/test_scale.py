"""Several workers and replicas: per-person order over Redis, sweep leases, Rasa failover, /metrics, JSON logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import App, create_app
from bot.channels.locks import KeyedLocks, LayeredLocks, PersonLocks
from bot.core.messages import IncomingMessage, Outcome, Turn
from bot.errors import NluUnavailable
from bot.logs import install_redaction, log_formatter, uninstall_redaction
from bot.metrics import MeteredClassifier, MeteredDialogue, MetricsRoutes
from bot.nlu.client import RasaClient
from bot.nlu.replicas import RasaReplicas, Replica
from bot.periodic import Periodic
from bot.records.cases import CaseStatus, RelayStatus
from bot.settings import DatabaseSettings, RasaSettings
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.figures import SqlQueueFigures
from bot.storage.handoff_tables import CaseRow, RelayRow
from bot.storage.locks import RedisLease, RedisPersonLocks
from bot.storage.state import RedisHealth
from tests.conftest import make_settings
from tests.keys import TEST_KEYRING

WAIT_LIMIT = 10.0  # seconds any polling loop below may take, at most


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    client = Redis.from_url(url)
    yield client
    await client.aclose()


class SlowDialogue:
    """Records when each turn starts and ends; yields to the loop in between, as a real turn does."""

    def __init__(self, events: list[tuple[str, str]]) -> None:
        self.events = events

    async def handle(self, message: IncomingMessage) -> Turn:
        self.events.append(("start", message.text))
        for _ in range(5):
            await asyncio.sleep(0.002)
        self.events.append(("end", message.text))
        return Turn("en", ())

    async def delivered(self, turn: Turn) -> None:
        return None


def _message(user: str, text: str) -> IncomingMessage:
    return IncomingMessage(channel="telegram", user_id=user, text=text)


class LockedTurns:
    """What a channel does with the app's person locks: hold the person's lock around the turn."""

    def __init__(self, inner: SlowDialogue, locks: PersonLocks) -> None:
        self._inner = inner
        self._locks = locks

    async def handle(self, message: IncomingMessage) -> Turn:
        async with self._locks.hold(f"{message.channel}:{message.user_id}"):
            return await self._inner.handle(message)


def _redis_locks(redis: Redis, prefix: str) -> RedisPersonLocks:
    return RedisPersonLocks(redis, TEST_KEYRING.blind, RedisHealth(), prefix=prefix)


async def test_a_persons_turns_never_overlap_across_workers(redis: Redis) -> None:
    """Two 'workers' (own clients, own in-process locks) given the same person's messages take them in turn."""
    events: list[tuple[str, str]] = []
    prefix = f"pana-test-{uuid.uuid4().hex}:"
    workers = [
        LockedTurns(SlowDialogue(events), LayeredLocks(KeyedLocks(), _redis_locks(redis, prefix))) for _ in range(2)
    ]
    messages = [_message("42", f"m{i}") for i in range(8)]
    await asyncio.wait_for(
        asyncio.gather(*(workers[i % 2].handle(message) for i, message in enumerate(messages))), WAIT_LIMIT
    )
    kinds = [kind for kind, _ in events]
    assert kinds == ["start", "end"] * len(messages), "a second turn of the same person started before one ended"
    assert [text for kind, text in events if kind == "start"] == [text for kind, text in events if kind == "end"]


async def test_different_people_are_not_held_up_by_each_other(redis: Redis) -> None:
    events: list[tuple[str, str]] = []
    locks = _redis_locks(redis, f"pana-test-{uuid.uuid4().hex}:")
    dialogue = LockedTurns(SlowDialogue(events), locks)
    await asyncio.wait_for(asyncio.gather(dialogue.handle(_message("1", "a")), dialogue.handle(_message("2", "b"))), 5)
    assert [kind for kind, _ in events][:2] == ["start", "start"]


async def test_lock_keys_do_not_carry_the_persons_address(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}:"
    dialogue = LockedTurns(SlowDialogue([]), _redis_locks(redis, prefix))
    seen: list[bytes] = []

    async def watch() -> None:
        while not seen:
            seen.extend(await redis.keys(prefix + "*"))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await dialogue.handle(_message("+77015550199", "hi"))
    await asyncio.wait_for(watcher, WAIT_LIMIT)
    assert seen and all(b"7701555" not in key for key in seen)


async def test_without_redis_turns_go_ahead_unordered() -> None:
    """Redis away: the lock is skipped (logged), never the person's answer."""
    broken = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    try:
        turn = await LockedTurns(SlowDialogue([]), _redis_locks(broken, "pana:person:")).handle(_message("1", "a"))
        assert turn.outcome is Outcome.ANSWERED
        assert await RedisLease(broken).acquire("sweep", 10) is True
    finally:
        await broken.aclose()


@pytest.fixture
async def two_workers(redis: Redis, tmp_path: Path, rasa_settings: RasaSettings) -> AsyncIterator[list[App]]:
    """Two workers' apps as `pana serve --workers 2` builds them: one database, one Redis."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'pana.db'}", rasa_settings)
    settings = settings.model_copy(
        update={"redis": settings.redis.model_copy(update={"url": SecretStr(os.environ["REDIS_URL"])})}
    )
    apps = [await create_app(settings) for _ in range(2)]
    yield apps
    for app in apps:
        await app.close()


async def test_two_workers_apps_share_one_person_lock_under_a_keyed_hash(redis: Redis, two_workers: list[App]) -> None:
    events: list[tuple[str, int]] = []
    number = f"+7701{uuid.uuid4().int % 10**7:07d}"  # its own person: other tests may share this Redis db
    key = f"whatsapp:{number}"  # what the WhatsApp channel holds
    seen: list[int] = []
    with_number: list[bytes] = []

    async def turn(app: App, n: int) -> None:
        async with app.person_locks.hold(key):
            events.append(("start", n))
            seen.append(await redis.exists(f"pana:person:{TEST_KEYRING.blind(key)}"))
            with_number.extend(await redis.keys(f"*{number[1:]}*"))
            for _ in range(5):
                await asyncio.sleep(0.002)
            events.append(("end", n))

    await asyncio.wait_for(asyncio.gather(*(turn(two_workers[n % 2], n) for n in range(8))), WAIT_LIMIT)
    assert [kind for kind, _ in events] == ["start", "end"] * 8, "one worker's turn overlapped the other's"
    assert seen == [1] * 8, "every turn held the lock under the keyed hash of the person's address"
    assert with_number == [], "no Redis key carries the number"


async def test_while_redis_is_marked_away_the_person_lock_skips_it(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}:"
    health = RedisHealth(retry_seconds=3600)
    health.failed(ConnectionError("down"))  # as the state store marks it after a failed call
    locks = RedisPersonLocks(redis, TEST_KEYRING.blind, health, prefix=prefix)
    async with locks.hold("telegram:42"):
        assert await redis.keys(prefix + "*") == [], "no Redis call while it is marked away"
    health.succeeded()
    async with locks.hold("telegram:42"):
        assert len(await redis.keys(prefix + "*")) == 1


async def test_one_worker_takes_each_round_of_a_sweep(redis: Redis) -> None:
    prefix = f"pana-test-{uuid.uuid4().hex}:"
    leases = [RedisLease(redis, prefix=prefix) for _ in range(3)]
    taken = [await lease.acquire("handoff sweep", 30) for lease in leases]
    assert taken.count(True) == 1
    runs: list[int] = []

    async def step(worker: int) -> None:
        runs.append(worker)

    loops = [Periodic("retention", lambda w=w: step(w), 30, lease) for w, lease in enumerate(leases)]  # type: ignore[misc]
    assert [await loop.leased() for loop in loops].count(True) == 1


class StandInRasa:
    """A Rasa stand-in that names itself as the top intent; `down` makes it answer 503 everywhere."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.down = False
        self.parsed = 0
        app = web.Application()
        app.router.add_post("/model/parse", self.parse)
        app.router.add_get("/status", self.status)
        self.server = TestServer(app, host="127.0.0.1")

    async def parse(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        self.parsed += 1
        return web.json_response({"intent": {"name": self.name, "confidence": 0.9}, "intent_ranking": []})

    async def status(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.json_response({"model_file": "model.tar.gz"})


@pytest.fixture
async def stand_ins() -> AsyncIterator[list[StandInRasa]]:
    rasas = [StandInRasa("one"), StandInRasa("two")]
    for rasa in rasas:
        await rasa.server.start_server()
    yield rasas
    for rasa in rasas:
        await rasa.server.close()


def _pool(rasas: list[StandInRasa]) -> RasaReplicas:
    replicas = []
    for rasa in rasas:
        url = str(rasa.server.make_url("")).rstrip("/")

        async def ready(url: str = url) -> bool:
            async with aiohttp.ClientSession() as session, session.get(f"{url}/status") as response:
                return response.status == 200

        replicas.append(Replica(rasa.name, RasaClient(url, timeout=2.0), ready))
    return RasaReplicas(replicas, check_seconds=0.02)


async def test_replicas_share_the_load_and_fail_over(stand_ins: list[StandInRasa]) -> None:
    pool = _pool(stand_ins)
    one, two = stand_ins
    try:
        answers = [(await pool.classify("hello")).ranking[0].name for _ in range(6)]
        assert answers.count("one") == 3 and answers.count("two") == 3
        one.down = True
        answers = [(await pool.classify("hello")).ranking[0].name for _ in range(6)]
        assert answers == ["two"] * 6, "every request answered while a replica is down"
        assert [replica.up for replica in pool.replicas] == [False, True]
        one.down = False
        deadline = time.monotonic() + WAIT_LIMIT
        while not pool.replicas[0].up and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert pool.replicas[0].up, "the health check brings a recovered replica back"
        answers = [(await pool.classify("hello")).ranking[0].name for _ in range(4)]
        assert sorted(answers) == ["one", "one", "two", "two"]
        one.down = two.down = True
        with pytest.raises(NluUnavailable):
            await pool.classify("hello")
    finally:
        await pool.close()


@pytest.fixture
async def figures(database_url: str) -> AsyncIterator[SqlQueueFigures]:
    """Queue figures over a fresh database (SQLite, and PostgreSQL when DATABASE_URL names one)."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    sessions = session_factory(engine)
    async with sessions() as session:
        for minutes, status in ((5, CaseStatus.WAITING), (2, CaseStatus.WAITING), (9, CaseStatus.CLOSED)):
            session.add(
                CaseRow(
                    contact_id=None,
                    language="en",
                    urgent=False,
                    reason="a",
                    summary="",
                    status=status.value,
                    created_at=now - dt.timedelta(minutes=minutes),
                )
            )
        await session.flush()
        for status in (RelayStatus.PENDING, RelayStatus.PENDING, RelayStatus.FAILED, RelayStatus.SENT):
            session.add(RelayRow(case_id=1, direction="to_user", kind="notice", text="x", status=status.value))
        await session.commit()
    yield SqlQueueFigures(sessions, lambda: now)
    await engine.dispose()


async def test_queue_figures_count_waiting_cases_and_the_outbox(figures: SqlQueueFigures) -> None:
    assert await figures() == {
        "cases_waiting": 2.0,
        "oldest_wait_seconds": 300.0,
        "relays_pending": 2.0,
        "relays_failed": 1.0,
    }


class Answering:
    async def handle(self, message: IncomingMessage) -> Turn:
        return Turn("en", ())

    async def delivered(self, turn: Turn) -> None:
        return None


class Refusing:
    async def classify(self, text: str) -> object:
        raise NluUnavailable("down")


async def _scrape(routes: MetricsRoutes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    app = web.Application()
    routes.install(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.make_url("/metrics"), headers=headers or {}) as response,
        ):
            return response.status, await response.text()
    finally:
        await server.close()


async def test_metrics_report_turns_queue_and_health(figures: SqlQueueFigures) -> None:

    async def health() -> dict[str, str]:
        return {"database": "ok", "redis": "not configured", "nlu": "unreachable"}

    await MeteredDialogue(Answering()).handle(IncomingMessage(channel="whatsapp", user_id="+77015550199", text="hi"))
    with pytest.raises(NluUnavailable):
        await MeteredClassifier(Refusing()).classify("hi")  # type: ignore[arg-type]
    status, body = await _scrape(MetricsRoutes(token=None, figures=figures, health=health))
    assert status == 200
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line[:1] != "#"}
    assert samples['pana_turns_total{channel="whatsapp",outcome="answered"}'] >= 1
    assert samples['pana_turn_seconds_count{channel="whatsapp"}'] >= 1
    assert samples["pana_nlu_failures_total"] >= 1
    assert samples["pana_cases_waiting"] == 2 and samples["pana_case_oldest_wait_seconds"] == 300
    assert samples['pana_outbox_relays{status="pending"}'] == 2
    assert samples['pana_dependency_up{dependency="nlu"}'] == 0
    assert samples['pana_dependency_up{dependency="database"}'] == 1
    assert "7701555" not in body


async def test_metrics_need_the_token_when_one_is_set(figures: SqlQueueFigures) -> None:

    async def health() -> dict[str, str]:
        return {"database": "ok"}

    routes = MetricsRoutes(token="metrics-secret-1", figures=figures, health=health)
    assert (await _scrape(routes))[0] == 403
    assert (await _scrape(routes, {"Authorization": "Bearer wrong"}))[0] == 403
    assert (await _scrape(routes, {"Authorization": "Bearer metrics-secret-1"}))[0] == 200


@pytest.mark.fast
def test_json_logs_are_one_redacted_object_per_line() -> None:
    install_redaction()
    try:
        record = logging.getLogger("bot.test").makeRecord(
            "bot.test", logging.WARNING, __file__, 1, "Sending to %s failed", ("whatsapp:+77015550199",), None
        )
    finally:
        uninstall_redaction()
    line = log_formatter("json").format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.test"
    assert entry["message"] == "Sending to whatsapp:[redacted] failed"
    assert entry["time"].endswith("Z")


def test_a_worker_does_not_load_the_migrations() -> None:
    """Alembic is migration-only (~11 MB per process): `pana serve --as-worker` must not import it."""
    probe = (
        "import sys, bot.cli.serve, bot.registry; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert found.stdout.strip() == "[]"
