"""A separate process claiming cases, for the cross-process test: `python -m tests.handoff.claimer URL ...`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time

from bot.settings import DatabaseSettings
from bot.storage.cases import SqlCaseStore
from bot.storage.database import create_engine, session_factory
from tests.keys import TEST_KEYRING


async def claim_all(url: str, lawyer_id: int, start_at: float, case_ids: list[int]) -> list[int]:
    engine = create_engine(DatabaseSettings(url=url), TEST_KEYRING)
    try:
        store = SqlCaseStore(session_factory(engine))
        async with engine.connect():  # connect before the start so both processes begin together
            pass
        await asyncio.sleep(max(0.0, start_at - time.time()))
        return [case_id for case_id in case_ids if await store.claim(case_id, lawyer_id, dt.datetime.now(dt.UTC))]
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, lawyer, start, *ids = sys.argv[1:]
    print(json.dumps(asyncio.run(claim_all(url, int(lawyer), float(start), [int(i) for i in ids]))))
