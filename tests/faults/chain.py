"""The kill -9 chain shared by every transport (tests/faults/test_kill*.py): `pana serve` started again and again
on one database, each process with one crash point (`PANA_FAULT_POINT`, bot/faults.py), fresh messages for it,
redelivered the way the platform does, until it dies with SIGKILL; the next process takes over, the last has no
crash point. Then: every message answered once, every relay delivered once, the waiting case announced once.

One duplicate is inherent, and only that one is allowed: Telegram has no idempotency key, so a relay whose send
was answered by the Bot API and not yet marked when its process died (any coroutine of it, not only the turn at
the crash point) goes out again after its lease. The relay's record shows it (an attempt begun, never ended:
bot/storage/relays.py); a relay may reach the lawyer once more per such attempt. So may a waiting case's
announcement, once more per announcement attempt its case's record shows cut off (bot/storage/cases.py,
`claim_announcement`). Twilio has none either: a WhatsApp
delivery whose process died while handing it over goes out again after its claim's lease, and its record shows
that claim (`attempts`); the reply may reach the person once more per claim cut off. Nothing else may come twice.

A transport is a `Platform`: how a person's message is handed to Pana and redelivered, and what that person
received. The lawyer is always on Telegram (the local Bot API), where relays and announcements arrive.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import signal
import socket
import time
from collections import Counter
from collections.abc import Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
from sqlalchemy import func, select

from bot.faults import POINTS
from bot.records.cases import CaseStatus, Direction, NewCase, Reason, RelayStatus
from bot.records.whatsapp import READY, SUBMITTING
from bot.settings import DatabaseSettings, RasaSettings
from bot.storage.cases import SqlCaseStore
from bot.storage.commits import Commits
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.handoff_tables import CaseRow, RelayRow
from bot.storage.lawyers import SqlLawyerStore
from bot.storage.repository import SqlConversationStore
from bot.storage.tables import ContactRow, MessageRow, WhatsAppDeliveryRow
from tests.conftest import PANA
from tests.keys import TEST_KEY, TEST_KEYRING
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

# "relay_sent" makes the inherent duplicate on purpose: its own test (test_kill.py), not every chain's.
# "announcement_sent" makes one too, and stays in the chains: the case "announcing" left waiting is announced by the
# next process, which it kills after the send, so both points meet one waiting case.
CHAIN = tuple(point for point in POINTS if point not in ("whatsapp_accepted", "whatsapp_claimed", "relay_sent"))
# WhatsApp's replies leave through the delivery ledger's drain, not part by part within the turn, and it takes no
# claim (it stores first: bot/channels/whatsapp/channel.py)
WHATSAPP_CHAIN = tuple(
    point for point in POINTS if point not in ("after_part_sent", "claim_taken", "before_claim_done", "relay_sent")
)
LAWYER_CHAT = 555
CLIENT = 9001  # the person whose case the lawyer holds
WAITING = 9300  # the person whose case waits to be announced
ANNOUNCING = ("announcing", "announcement_sent")  # the points a waiting case is seeded for (once, at the first)
QUESTIONS = ("Как получить гражданство Казахстана?", "How do I apply for asylum?", "Мне нужна работа, где искать?")
START_SECONDS = 120  # one start of `pana serve`, bounded (a shared, busy machine has taken over 60 s)
STEP_SECONDS = 90  # one chain is bounded by this per start of `pana serve` and its messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Platform(Protocol):
    """A transport as the platform runs it: messages wait in `pending` until Pana has taken them."""

    channel: str  # the contacts' channel in the record
    statuses: Counter[int]  # the webhook's answers (0: no answer, the process died under the request)

    @property
    def pending(self) -> Sized: ...

    def address(self, person: int) -> str:
        """The person's platform id in the record."""
        ...

    def add(self, person: int, text: str) -> None:
        """A fresh message from the person."""
        ...

    async def push(self) -> None:
        """Deliver (again) what is pending, as the platform would."""
        ...

    def received(self, person: int) -> list[str]:
        """The texts the person was sent."""
        ...


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
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:  # still a failure, but the process must not go on sweeping the next test's database
                self.process.kill()
                await self.process.wait()
                raise


def serve_env(
    bot_api: FakeBotApi, database_url: str, rasa_settings: RasaSettings, var_dir: Path, port: int
) -> dict[str, str]:
    """Short leases and sweeps, so that what a killed process held is taken over within seconds."""
    ours = ("DATABASE_", "REDIS_", "RASA_", "TELEGRAM_", "TWILIO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api.base_url,
        RASA_URL=rasa_settings.base_url,
        DATABASE_URL=database_url,
        PANA_PORT=str(port),
        PANA_VAR_DIR=str(var_dir),
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


async def _contact_id(database_url: str, channel: str, platform_id: str) -> tuple[int, int]:
    """A case for the person (waiting); its id and the contact's."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    await migrate(engine)
    sessions = session_factory(engine)
    contact = await SqlConversationStore(
        Commits(engine, relaxed=True), idle=dt.timedelta(hours=1)
    ).get_or_create_contact(channel, platform_id)
    case = await SqlCaseStore(sessions).open(
        NewCase(contact.id, "ru", None, False, Reason.ASKED, ""), dt.datetime.now(dt.UTC)
    )
    assert case is not None
    await engine.dispose()
    return contact.id, case.id


async def seed_held_case(database_url: str, platform: Platform) -> int:
    """A lawyer holding the case of CLIENT, before any process starts; the case id."""
    _, case_id = await _contact_id(database_url, platform.channel, platform.address(CLIENT))
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    sessions = session_factory(engine)
    lawyer = await SqlLawyerStore(sessions).add(LAWYER_CHAT, "Aigerim", ("ru", "en"))
    assert await SqlCaseStore(sessions).claim(case_id, lawyer.id, dt.datetime.now(dt.UTC))
    await engine.dispose()
    return case_id


async def seed_waiting_case(database_url: str, platform: Platform) -> int:
    """A case waiting for a lawyer, never announced: the next process's sweep announces it; the case id."""
    return (await _contact_id(database_url, platform.channel, platform.address(WAITING)))[1]


async def unsettled(database_url: str) -> tuple[int, int, int, int]:
    """Inbound messages not answered yet, relays not sent yet, waiting cases not announced yet, and WhatsApp
    deliveries not handed to Twilio yet (a message is answered once its replies are in the outbox, not sent)."""
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
        outbox = await session.scalar(
            select(func.count())
            .select_from(WhatsAppDeliveryRow)
            .where(WhatsAppDeliveryRow.status.in_((READY, SUBMITTING)))
        )
    await engine.dispose()
    return int(unanswered or 0), int(unsent or 0), int(unannounced or 0), int(outbox or 0)


async def outbound_by_address(database_url: str) -> dict[str, int]:
    """Replies stored per person (platform id)."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(ContactRow.platform_id, func.count())
            .join(MessageRow, MessageRow.contact_id == ContactRow.id)
            .where(MessageRow.direction == "out")
            .group_by(ContactRow.platform_id)
        )
        counts = {str(platform_id): int(count) for platform_id, count in rows}
    await engine.dispose()
    return counts


async def cut_off_attempts(database_url: str) -> dict[str, int]:
    """Per relay to the lawyer, as the lawyer reads it: its delivery attempts begun and never ended (a kill)."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with session_factory(engine)() as session:
        rows = (
            await session.execute(select(RelayRow).where(RelayRow.direction == Direction.TO_LAWYER.value))
        ).scalars()
        cut_off = {f"#{row.case_id}: {row.text}": row.attempts - row.attempts_ended for row in rows}
    await engine.dispose()
    return {text: n for text, n in cut_off.items() if n > 0}


async def cut_off_announcements(database_url: str) -> dict[int, int]:
    """Per case: its announcement attempts begun and never ended (a kill)."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(CaseRow.id, CaseRow.announce_attempts - CaseRow.announce_attempts_ended).where(
                CaseRow.announce_attempts > CaseRow.announce_attempts_ended
            )
        )
        cut_off = {int(case_id): int(n) for case_id, n in rows}
    await engine.dispose()
    return cut_off


def announced_case(text: str) -> int | None:
    """The case a text to the lawyer announces (its line reads "URGENT · #12 · ru · …", bot/handoff/cards.py; a
    relay reads "#12: …"), None for anything else."""
    found = re.search(r"#(\d+) · ", text)
    return int(found.group(1)) if found else None


async def cut_off_claims(database_url: str) -> dict[tuple[str, str], int]:
    """Per WhatsApp delivery, as (person's platform id, text): its claims cut off by a kill before Twilio's answer
    was stored (each claim counts in `attempts`; the last one got through)."""
    engine = create_engine(DatabaseSettings(url=database_url), TEST_KEYRING)
    async with session_factory(engine)() as session:
        rows = (await session.execute(select(WhatsAppDeliveryRow).where(WhatsAppDeliveryRow.attempts > 1))).scalars()
        cut_off = {(row.recipient, row.body): row.attempts - 1 for row in rows if row.recipient and row.body}
    await engine.dispose()
    return cut_off


def unexplained_duplicates(
    twice: dict[tuple[str, str], int],
    cut_off: dict[str, int],
    cut_off_claims: dict[tuple[str, str], int] | None = None,
    cut_off_announcements: dict[int, int] | None = None,
) -> dict[tuple[str, str], int]:
    """What was sent more than once beyond the inherent cases: a relay to the lawyer once more per attempt cut off,
    a case's announcement to the lawyer once more per announcement attempt cut off, a WhatsApp reply to its person
    once more per claim of its delivery cut off."""
    claims = cut_off_claims or {}
    announcements = cut_off_announcements or {}

    def explained(to: str, text: str, n: int) -> bool:
        if to == "lawyer":
            case_id = announced_case(text)
            allowed = announcements.get(case_id, 0) if case_id is not None else cut_off.get(text, 0)
            return n - 1 <= allowed
        return n - 1 <= claims.get((to, text), 0)

    return {(to, text): n for (to, text), n in twice.items() if not explained(to, text, n)}


@dataclass(frozen=True)
class ChainReport:
    points: tuple[str, ...]
    kills: int
    messages: int
    announcements: int
    lost: int
    duplicated: int
    askers: tuple[int, ...]
    to_lawyer: tuple[str, ...]
    twice: dict[tuple[str, str], int]  # (recipient, text): copies, for what was sent more than once
    waiting_case_id: int | None  # the case seeded to be announced (None: no announcing point in the chain)


async def run_chain(
    serve: Serve,
    platform: Platform,
    bot_api: FakeBotApi,
    database_url: str,
    mode: str,
    *,
    first_id: int,
    points: tuple[str, ...] = CHAIN,
) -> ChainReport:
    """Run the chain through `points`; print and return what it found (the caller asserts)."""
    case_id = await seed_held_case(database_url, platform)
    askers: list[int] = []
    relayed: list[str] = []
    waiting_case_id: int | None = None
    run_seconds = STEP_SECONDS * (len(points) + 1)
    deadline = time.monotonic() + run_seconds
    for step, point in enumerate((*points, None)):
        if point in ANNOUNCING and waiting_case_id is None:  # seeded while no process runs: the next announces it
            waiting_case_id = await seed_waiting_case(database_url, platform)
        await serve.start(point)
        if point is not None:  # fresh messages for this step: a question, and one for the lawyer
            askers.append(first_id + step)
            relayed.append(f"Message {step} for my lawyer: the hearing was moved")
            platform.add(CLIENT, relayed[-1])
            platform.add(askers[-1], QUESTIONS[step % len(QUESTIONS)])
        while time.monotonic() < deadline:
            await platform.push()
            if serve.killed():
                break  # the next process takes over
            if not platform.pending and await unsettled(database_url) == (0, 0, 0, 0):
                if point is None:
                    break
                raise AssertionError(f"the crash point {point} was never reached")
            await asyncio.sleep(0.3)
    await serve.stop()
    assert time.monotonic() < deadline, f"not settled in {run_seconds} s: {await unsettled(database_url)}"

    lawyer_texts = [m["text"] for m in bot_api.sent() if int(m["chat_id"]) == LAWYER_CHAT]
    announced = [
        text for text in lawyer_texts if waiting_case_id is not None and announced_case(text) == waiting_case_id
    ]
    to_lawyer = [text for text in lawyer_texts if text not in announced]
    assert all(f"#{case_id}:" in text for text in to_lawyer), "only the held case's relays, besides the announcement"
    lost = sum(1 for person in askers if not platform.received(person))
    lost += sum(1 for text in relayed if not any(text in sent for sent in to_lawyer))
    lost += 0 if announced or waiting_case_id is None else 1
    sent = [(platform.address(p), text) for p in (*askers, CLIENT) for text in platform.received(p)]
    sent += [("lawyer", text) for text in lawyer_texts]
    twice = {pair: n for pair, n in Counter(sent).items() if n > 1}
    duplicated = sum(n - 1 for n in twice.values())
    report = ChainReport(
        points,
        serve.kills,
        len(askers) + len(relayed),
        len(announced),
        lost,
        duplicated,
        tuple(askers),
        tuple(to_lawyer),
        twice,
        waiting_case_id,
    )
    print(
        f"\nkill -9 ({mode}, {database_url.split(':')[0]}): kills={report.kills} messages={report.messages} "
        f"announcements={report.announcements} lost={lost} duplicated={duplicated} "
        f"webhook answers={dict(platform.statuses)}" + (f"\nsent more than once: {twice}" if twice else "")
    )
    return report


async def check_chain(report: ChainReport, platform: Platform, database_url: str, *, one_reply_per_row: bool) -> None:
    """The chain's promises: every crash point reached once, nothing lost, nothing twice, nothing left over."""
    assert report.kills == len(report.points), "each crash point was reached once"
    cut_off = await cut_off_attempts(database_url)
    if cut_off:
        print(f"relay attempts cut off by a kill (sent again after their lease): {sorted(cut_off.values())}")
    claims = await cut_off_claims(database_url)
    if claims:
        print(f"WhatsApp claims cut off by a kill (sent again after their lease): {sorted(claims.values())}")
    announcements = await cut_off_announcements(database_url)
    if announcements:
        print(f"announcement attempts cut off by a kill (announced again after their lease): {announcements}")
    assert report.lost == 0
    unexplained = unexplained_duplicates(report.twice, cut_off, claims, announcements)
    assert unexplained == {}, "nothing twice but a send cut off mid-way"
    assert len(set(report.to_lawyer)) == report.messages // 2, "each relay delivered"
    relays = set(report.to_lawyer)
    to_lawyer_again = sum(n - 1 for (to, text), n in report.twice.items() if to == "lawyer" and text in relays)
    assert len(report.to_lawyer) == report.messages // 2 + to_lawyer_again, "more only as the duplicates allowed"
    seeded = report.waiting_case_id is not None
    announced_again = sum(
        n - 1 for (to, text), n in report.twice.items() if to == "lawyer" and text not in relays
    )  # the same announcement's text each time (the case's line does not change while it waits)
    assert report.announcements == int(seeded) + announced_again, (
        "the waiting case announced once, and again only as allowed"
    )
    assert not platform.received(CLIENT), "no echo to the person whose messages go to the lawyer"
    if one_reply_per_row:  # each stored reply is one platform message (Telegram)
        outbound = await outbound_by_address(database_url)
        for person in report.askers:
            assert len(platform.received(person)) == outbound[platform.address(person)], "each reply sent once"
    assert await unsettled(database_url) == (0, 0, 0, 0)
