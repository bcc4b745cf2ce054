"""kill -9 at every step of a turn, against real `pana serve` processes: nothing lost, nothing answered twice.

Each backend (SQLite, PostgreSQL) gets one chain of processes: a process is started with one crash point
(`PANA_FAULT_POINT`, bot/faults.py), fresh messages are delivered to it as Telegram would (a question from a
new person, and a message from a person whose case a lawyer holds, relayed to the lawyer), it dies with
SIGKILL at that step, and the next process (with the next crash point, the last with none) takes over.
Telegram's behaviour is reproduced: an update is posted again until the webhook answers 200. Real Rasa, real
Redis when REDIS_URL is set (a killed process's claim must not block the redelivery), the local Bot API.
In long polling (one chain, on PostgreSQL when it is configured: the transport is what differs), updates
wait in the local Bot API until a getUpdates offset confirms them, as Telegram keeps them. Before the process
that dies while announcing starts, a waiting case is seeded: the lawyer must get its
announcement exactly once, from the process after it, once the dead one's lease is over.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.faults import POINTS
from bot.nlu.server import NluServer
from bot.records.cases import CaseStatus, NewCase, Reason, RelayStatus
from bot.settings import DatabaseSettings, RasaSettings
from bot.storage.cases import SqlCaseStore
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.handoff_tables import CaseRow, RelayRow
from bot.storage.lawyers import SqlLawyerStore
from bot.storage.repository import SqlConversationStore
from bot.storage.tables import ContactRow, MessageRow
from tests.conftest import PANA, _backends
from tests.keys import TEST_KEY, TEST_KEYRING
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi, private_message

pytestmark = pytest.mark.asyncio

SECRET = "kill-secret_1"
LAWYER_CHAT = 555
CLIENT_CHAT = 9001  # the person whose case the lawyer holds
WAITING_CHAT = 9300  # the person whose case waits to be announced
QUESTIONS = ("Как получить гражданство Казахстана?", "How do I apply for asylum?", "Мне нужна работа, где искать?")
CHAIN = POINTS
START_SECONDS = 120  # one start of `pana serve`, bounded (a shared, busy machine has taken over 60 s)
RUN_SECONDS = 90 * (len(CHAIN) + 1)  # one chain, bounded: 90 s per start of `pana serve` and its messages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Serve:
    """`pana serve` as a subprocess; started again and again on the same database."""

    env: dict[str, str]
    port: int
    logs: Path
    process: asyncio.subprocess.Process | None = None
    kills: int = 0

    async def start(self, fault: str | None) -> None:
        env = dict(self.env)
        if fault:
            env["PANA_FAULT_POINT"] = fault
        with (self.logs / f"serve-{fault}.log").open("ab") as log:  # read when a run fails
            self.process = await asyncio.create_subprocess_exec(
                *PANA, "serve", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + START_SECONDS
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:  # killed at once: the recovery sweep reached the point
                    return
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz"):
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
        raise AssertionError("pana serve did not start listening")

    def killed(self) -> bool:
        """The process died by SIGKILL (the crash point): counted once."""
        if self.process is None or self.process.returncode is None:
            return False
        assert self.process.returncode == -signal.SIGKILL, f"died otherwise: {self.process.returncode}"
        self.process = None
        self.kills += 1
        return True

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), timeout=30)


@dataclass
class Telegram:
    """Telegram's side of the webhook: every update is posted until it gets a 200."""

    port: int
    pending: list[dict[str, Any]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

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

    def add(self, update: dict[str, Any]) -> None:
        self.pending.append(update)


@dataclass
class Polling:
    """Telegram's side of long polling: an update is handed out until a getUpdates offset confirms it."""

    api: FakeBotApi
    statuses: Counter[int] = field(default_factory=Counter)  # no webhook answers in this mode

    @property
    def pending(self) -> list[dict[str, Any]]:
        return self.api.updates

    async def push(self) -> None:
        """Nothing to push: the process asks for updates itself."""

    def add(self, update: dict[str, Any]) -> None:
        self.api.queue_update(update)


Platform = Telegram | Polling


async def _seed(database_url: str) -> int:
    """A lawyer holding the case of CLIENT_CHAT, before any process starts; the case id."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    sessions = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    lawyer = await SqlLawyerStore(sessions).add(LAWYER_CHAT, "Aigerim", ("ru", "en"))
    contact = await SqlConversationStore(sessions, idle=dt.timedelta(hours=1)).get_or_create_contact(
        "telegram", str(CLIENT_CHAT)
    )
    cases = SqlCaseStore(sessions)
    case = await cases.open(NewCase(contact.id, "ru", None, False, Reason.ASKED, ""), now)
    assert case is not None and await cases.claim(case.id, lawyer.id, now)
    await engine.dispose()
    return case.id


async def _seed_waiting_case(database_url: str) -> int:
    """A case waiting for a lawyer, never announced: the next process's sweep announces it; the case id."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    sessions = session_factory(engine)
    contact = await SqlConversationStore(sessions, idle=dt.timedelta(hours=1)).get_or_create_contact(
        "telegram", str(WAITING_CHAT)
    )
    case = await SqlCaseStore(sessions).open(
        NewCase(contact.id, "ru", None, False, Reason.ASKED, ""), dt.datetime.now(dt.UTC)
    )
    assert case is not None
    await engine.dispose()
    return case.id


async def _settled(database_url: str) -> tuple[int, int, int]:
    """Inbound messages not answered yet, relays not sent yet, waiting cases not announced yet."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with session_factory(engine)() as session:
        unanswered = await session.scalar(
            select(func.count())
            .select_from(MessageRow)
            .where(MessageRow.direction == "in", MessageRow.answered_at.is_(None))
        )
        unsent = await session.scalar(
            select(func.count()).select_from(RelayRow).where(RelayRow.status != RelayStatus.SENT.value)
        )
        unannounced = await session.scalar(
            select(func.count())
            .select_from(CaseRow)
            .where(CaseRow.status == CaseStatus.WAITING.value, CaseRow.announced_at.is_(None))
        )
    await engine.dispose()
    return int(unanswered or 0), int(unsent or 0), int(unannounced or 0)


async def _outbound_by_chat(database_url: str) -> dict[int, int]:
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(ContactRow.platform_id, func.count())
            .join(MessageRow, MessageRow.contact_id == ContactRow.id)
            .where(MessageRow.direction == "out")
            .group_by(ContactRow.platform_id)
        )
        counts = {int(platform_id): int(count) for platform_id, count in rows}
    await engine.dispose()
    return counts


def _env(
    bot_api: FakeBotApi, database_url: str, rasa_settings: RasaSettings, tmp_path: Path, port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RASA_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api.base_url,
        RASA_URL=rasa_settings.base_url,
        DATABASE_URL=database_url,
        PANA_PORT=str(port),
        PANA_VAR_DIR=str(tmp_path),
        PANA_ENCRYPTION_KEYS=TEST_KEY,  # the key the test seeds and reads the record with
        PANA_TURN_LEASE_SECONDS="5",
        PANA_CLAIM_SECONDS="3",
        PANA_RECOVERY_GRACE_SECONDS="1",
        PANA_RECOVERY_INTERVAL_SECONDS="1",
        LAWYER_SWEEP_SECONDS="1",
        LAWYER_ANNOUNCE_LEASE_SECONDS="10",  # longer than a send here, even on a busy machine
        LAWYER_RELAY_LEASE_SECONDS="10",  # a relay in flight when a process dies: sent by the next one
        LAWYER_HOURS="Mon-Sun 00:00-23:59",
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


@pytest.fixture
async def serve_env(
    bot_api: FakeBotApi, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> AsyncIterator[tuple[Serve, Telegram]]:
    port = _free_port()
    env = _env(bot_api, database_url, rasa_settings, tmp_path, port)
    env.update(TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET=SECRET)
    serve = Serve(env, port, tmp_path)
    yield serve, Telegram(port)
    await serve.stop()


@pytest.fixture
async def polling_env(
    bot_api: FakeBotApi, database_url: str, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> AsyncIterator[tuple[Serve, Polling]]:
    port = _free_port()  # no webhook: the port serves /healthz only
    serve = Serve(_env(bot_api, database_url, rasa_settings, tmp_path, port), port, tmp_path)
    yield serve, Polling(bot_api)
    await serve.stop()


async def test_kill_9_at_every_step_loses_nothing_and_answers_once(
    serve_env: tuple[Serve, Telegram], bot_api: FakeBotApi, database_url: str
) -> None:
    await _kill_chain(*serve_env, bot_api, database_url, "webhook")


async def test_kill_9_at_every_step_in_long_polling_loses_nothing_and_answers_once(
    polling_env: tuple[Serve, Polling], bot_api: FakeBotApi, database_url: str
) -> None:
    if database_url.startswith("sqlite") and len(_backends()) > 1:
        pytest.skip("long polling's chain runs once, on PostgreSQL: the webhook chain covers both backends")
    await _kill_chain(*polling_env, bot_api, database_url, "long polling")


async def _kill_chain(serve: Serve, telegram: Platform, bot_api: FakeBotApi, database_url: str, mode: str) -> None:
    case_id = await _seed(database_url)
    update_id = random.randrange(10**8, 10**9)  # claims in a shared Redis outlive a test: never reuse an id
    askers: list[int] = []
    relayed: list[str] = []
    waiting_case_id: int | None = None
    deadline = time.monotonic() + RUN_SECONDS
    for step, point in enumerate((*CHAIN, None)):
        if point == "announcing":  # seeded while no process runs: the one about to start announces it
            waiting_case_id = await _seed_waiting_case(database_url)
        await serve.start(point)
        if point is not None:  # fresh messages for this step: a question, and one for the lawyer
            askers.append(9100 + step)
            relayed.append(f"Message {step} for my lawyer: the hearing was moved")
            for chat, text in ((CLIENT_CHAT, relayed[-1]), (askers[-1], QUESTIONS[step % len(QUESTIONS)])):
                update_id += 1
                telegram.add(private_message(update_id, text, chat_id=chat))
        while time.monotonic() < deadline:
            await telegram.push()
            if serve.killed():
                break  # the next process takes over
            if not telegram.pending and await _settled(database_url) == (0, 0, 0):
                if point is None:
                    break
                raise AssertionError(f"the crash point {point} was never reached")
            await asyncio.sleep(0.3)
    await serve.stop()
    assert time.monotonic() < deadline, f"not settled in {RUN_SECONDS} s: {await _settled(database_url)}"

    sent = bot_api.sent()
    lawyer_texts = [m["text"] for m in sent if int(m["chat_id"]) == LAWYER_CHAT]
    announced = [text for text in lawyer_texts if f"#{waiting_case_id} ·" in text]
    to_lawyer = [text for text in lawyer_texts if text not in announced]
    outbound = await _outbound_by_chat(database_url)
    lost = sum(1 for chat in askers if not any(int(m["chat_id"]) == chat for m in sent))
    lost += sum(1 for text in relayed if not any(text in m for m in to_lawyer))
    lost += 0 if announced or waiting_case_id is None else 1
    duplicated = sum(n - 1 for n in Counter((m["chat_id"], m["text"]) for m in sent).values() if n > 1)
    print(
        f"\nkill -9 ({mode}, {database_url.split(':')[0]}): kills={serve.kills} "
        f"messages={len(askers) + len(relayed)} announcements={len(announced)} lost={lost} duplicated={duplicated} "
        f"webhook answers={dict(telegram.statuses)}"
    )
    assert serve.kills == len(CHAIN), "each crash point was reached once"
    assert (lost, duplicated) == (0, 0)
    for chat in askers:
        assert len([m for m in sent if int(m["chat_id"]) == chat]) == outbound[chat], "each reply sent once"
    assert all(f"#{case_id}:" in text for text in to_lawyer) and len(to_lawyer) == len(relayed)
    assert not [m for m in sent if int(m["chat_id"]) == CLIENT_CHAT], "no echo to the person"
    assert len(announced) == (0 if waiting_case_id is None else 1), "the waiting case announced exactly once"
    assert await _settled(database_url) == (0, 0, 0)
