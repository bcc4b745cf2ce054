"""`python -m bench.encryption`: what encryption at rest costs per message.

Runs the record's part of one turn as Pana does it (check the tombstones, find the contact by keyed hash, store
the message, annotate
it, store two replies, keep the turn, mark it answered) against a real database, once with the real keyring and
once with a keyring that stores texts as they are, and prints the median and 95th percentile per turn, plus the
cost of sealing and opening one message alone. SQLite in a temporary folder; PostgreSQL too with --postgres URL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bot.core.messages import IncomingMessage
from bot.core.ports import TurnRecord
from bot.keys import PREFIX, Keyring, new_key
from bot.settings import DatabaseSettings
from bot.storage.commits import Commits
from bot.storage.database import create_engine, migrate
from bot.storage.repository import SqlConversationStore

QUESTION = "Здравствуйте, мне отказали в статусе беженца в Алматы, что делать дальше? Позвоните +77015550100. " * 2
REPLY = "You can appeal the refusal in court within one month of receiving it in writing. " * 6


class ClearKeyring(Keyring):
    """The baseline: the same code path, texts stored as they are."""

    def seal(self, text: str) -> str:
        return PREFIX + text

    def open(self, token: str) -> str:
        return token[len(PREFIX) :]


async def _turns(url: str, keyring: Keyring, turns: int) -> list[float]:
    engine = create_engine(DatabaseSettings(url=url), keyring)
    await migrate(engine)
    store = SqlConversationStore(Commits(engine, relaxed=True), idle=dt.timedelta(hours=24))
    timings = []
    try:
        for number in range(turns):
            started = time.perf_counter()
            sid = f"SM{uuid.uuid4().hex}"
            await store.forgotten("whatsapp", sid)  # the tombstone check every message passes
            contact = await store.get_or_create_contact("whatsapp", f"+7701{number % 50:07d}")
            incoming = IncomingMessage("whatsapp", contact.platform_id, QUESTION, channel_message_id=sid)
            lease = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
            message_id = await store.record_inbound(contact.id, incoming, QUESTION, lease_until=lease)
            if message_id is None:
                raise RuntimeError("a fresh message id was taken for a redelivery")
            record = TurnRecord("asylum_rejected", 0.9, "ru", (REPLY, REPLY), REPLY * 2)  # one transaction per turn
            await store.record_turn(message_id, contact.id, record)
            await store.mark_answered(message_id)
            timings.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return timings


def _crypto_alone(keyring: Keyring, rounds: int = 2000) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        keyring.open(keyring.seal(QUESTION))
        keyring.blind("+77015550100")
    return (time.perf_counter() - started) / rounds


def _line(label: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{label:<34} median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


async def _compare(label: str, url_for: str | None, turns: int, folder: Path) -> None:
    for name, keyring in (("clear", ClearKeyring([b"\0" * 32])), ("encrypted", Keyring.parse(new_key()))):
        url = url_for or f"sqlite+aiosqlite:///{folder / f'{name}.db'}"
        await _turns(url, keyring, 20)  # warm-up: schema, connections, caches
        print(_line(f"{label} turn, {name}", await _turns(url, keyring, turns)))


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.encryption", description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this (throwaway) PostgreSQL database")
    args = parser.parse_args()
    print(
        f"seal + open of a {len(QUESTION)}-character message and one keyed hash: "
        f"{_crypto_alone(Keyring.parse(new_key())) * 1e6:.1f} µs"
    )
    with tempfile.TemporaryDirectory(prefix="pana-bench-") as folder:
        await _compare("SQLite", None, args.turns, Path(folder))
        if args.postgres:
            await _compare("PostgreSQL", args.postgres, args.turns, Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
