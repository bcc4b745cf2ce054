"""One benchmark run: for each backend set, start the workers; for each concurrency level, drive people through
Pana, then post the same texts to Rasa alone; collect latencies, throughput, RSS and the load of the machine."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.people import Outcome, Plan, Planner, TelegramPerson, WhatsAppPerson, consent_labels
from bench.profile_report import summarize_profile
from bench.profile_report import text as profile_text
from bench.report import level_figures
from bench.stack import (
    WEBHOOK_SECRET,
    Backends,
    RasaServer,
    Worker,
    clear_redis,
    cpu_seconds,
    free_port,
    register_lawyer,
    require_loopback,
    rss_kib,
    start_workers,
    stop_workers,
    throwaway_database,
    worker_environment,
)
from bench.standins import BenchBotApi, BenchTwilioApi
from bot.nlu.auth import auth_headers
from bot.nlu.client import MAX_PARSE_CHARS
from bot.nlu.normalize import normalize
from bot.nlu.testset import Example, load_test_set
from bot.settings import REPO_ROOT, DatabaseSettings, RasaSettings


@dataclass(frozen=True)
class Options:
    workers: int
    levels: tuple[int, ...]
    turns: int  # per level, at most (a visit under way finishes: a few more)
    duration: float  # seconds per level, at most
    backends: tuple[Backends, ...]
    postgres_url: str
    redis_url: str
    rasa_port: int
    whatsapp_share: float
    option_share: float
    handoff_share: float
    returning_share: float
    warmup_visits: int
    request_timeout: float
    worker_start_timeout: float
    seed: int
    output: Path
    profile: bool = False  # cProfile the one worker during each level (bench/profiled.py)


class Driver:
    """Sends every visit to the one address Pana answers on (with several workers, the kernel picks one)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        server: Worker,
        bot_api: BenchBotApi,
        twilio: BenchTwilioApi,
        limit: float,
    ) -> None:
        update_ids, message_ids, labels = itertools.count(1), itertools.count(1), consent_labels(REPO_ROOT / "locales")
        url = server.base_url
        self._telegram = TelegramPerson(session, bot_api, f"{url}/telegram/webhook", WEBHOOK_SECRET, update_ids)
        self._whatsapp = WhatsAppPerson(session, twilio, f"{url}/whatsapp/webhook", url, labels, message_ids)
        self._timeout = limit

    async def visit(self, plan: Plan, rng: random.Random) -> list[Outcome]:
        person = self._telegram if plan.channel == "telegram" else self._whatsapp
        return await person.visit(plan, rng, self._timeout)


async def drive(
    driver: Driver, planner: Planner, rng: random.Random, *, concurrency: int, turns: int, duration: float
) -> tuple[list[Outcome], float]:
    """`concurrency` people at a time until `turns` requests were made or `duration` seconds passed."""
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + duration

    async def one_after_another() -> None:
        while len(outcomes) < turns and time.monotonic() < deadline:
            plan = planner.next_plan()
            try:
                outcomes.extend(await driver.visit(plan, rng))
            finally:
                planner.done(plan)

    started = time.monotonic()
    await asyncio.gather(*(one_after_another() for _ in range(concurrency)))
    return outcomes, time.monotonic() - started


async def parse_alone(
    session: aiohttp.ClientSession,
    rasa: RasaSettings,
    texts: list[str],
    *,
    concurrency: int,
    limit: float,
) -> tuple[list[float], int, float]:
    """The texts Pana classified, normalised as Pana sends them, posted straight to /model/parse."""
    queue = [normalize(t)[-MAX_PARSE_CHARS:] for t in texts]
    queue = [t for t in queue if t]
    latencies: list[float] = []
    failed = 0
    position = iter(range(len(queue)))

    async def poster() -> None:
        nonlocal failed
        for index in position:
            started = time.monotonic()
            try:
                async with session.post(
                    f"{rasa.base_url}/model/parse",
                    json={"text": queue[index]},
                    headers=auth_headers(rasa),  # signed per request, as Pana's client does
                    timeout=aiohttp.ClientTimeout(total=limit),
                ) as response:
                    await response.read()
                    ok = response.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            if ok:
                latencies.append(time.monotonic() - started)
            else:
                failed += 1

    started = time.monotonic()
    await asyncio.gather(*(poster() for _ in range(concurrency)))
    return latencies, failed, time.monotonic() - started


async def count_cases(database_url: str) -> int:
    engine = create_async_engine(DatabaseSettings(url=database_url).url.get_secret_value())
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM cases"))).scalar_one())
    finally:
        await engine.dispose()


def process_ids(workers: list[Worker], rasa: RasaServer) -> dict[str, int]:
    ids = {name: pid for w in workers for name, pid in w.process_ids().items()}
    if rasa.process is not None:
        ids["rasa"] = rasa.process.pid
    return ids


def cpu_used(before: dict[str, float | None], after: dict[str, float | None], turns: int) -> dict[str, Any]:
    """CPU seconds each process used during Pana's phase, and per turn (ms): what a turn costs in CPU."""
    used: dict[str, float] = {}
    for name, start in before.items():
        end = after.get(name)
        if start is not None and end is not None:  # a process that died has no figure
            used[name] = round(end - start, 2)
    per_turn = {name: round(seconds * 1000 / turns, 1) for name, seconds in used.items()} if turns else {}
    return {"seconds": used, "ms_per_turn": per_turn}


async def profiled_level(worker: Worker, folder: Path, concurrency: int) -> dict[str, Any]:
    """Stop the worker's profiler, wait for its dump (10 s at most), keep it as `profile-c<level>`, summarise it."""
    dump = folder / "profile.prof"
    dump.unlink(missing_ok=True)
    os.kill(worker.process.pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while not (folder / "profile.gc.json").exists() or not dump.exists():
        if time.monotonic() > deadline:
            return {"turns": 0, "error": "the worker wrote no profile within 10 s"}
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.2)  # the gc figures are written right after the profile
    kept = folder / f"profile-c{concurrency}"
    dump.rename(f"{kept}.prof")
    (folder / "profile.gc.json").rename(f"{kept}.gc.json")
    summary = summarize_profile(kept)
    print(profile_text(summary), flush=True)
    return summary


def process_memory(workers: list[Worker], rasa: RasaServer) -> dict[str, dict[str, int]]:
    return {name: rss_kib(pid) for name, pid in process_ids(workers, rasa).items()}


async def run_backends(
    options: Options,
    backends: Backends,
    rasa: RasaServer,
    bot_api: BenchBotApi,
    twilio: BenchTwilioApi,
    examples: list[Example],
    folder: Path,
) -> dict[str, Any]:
    redis_url = require_loopback(options.redis_url) if backends.state == "redis" else None
    async with throwaway_database(backends, options.postgres_url, folder) as database_url:
        if redis_url:
            await clear_redis(redis_url)
        env = worker_environment(
            database_url=database_url,
            redis_url=redis_url,
            rasa_url=rasa.url,
            bot_api=bot_api.base_url,
            twilio_api=twilio.base_url,
            port=free_port(),
        )
        logs = folder / backends.label
        logs.mkdir(exist_ok=True)
        await register_lawyer(env, logs / "setup.log")
        workers = await start_workers(options.workers, env, logs, options.worker_start_timeout, profile=options.profile)
        levels: list[dict[str, Any]] = []
        try:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                rng = random.Random(options.seed)
                planner = Planner(
                    examples,
                    rng,
                    options.whatsapp_share,
                    options.option_share,
                    options.handoff_share,
                    options.returning_share,
                )
                driver = Driver(session, workers[0], bot_api, twilio, options.request_timeout)
                await drive(
                    driver,
                    planner,
                    rng,
                    concurrency=options.workers,
                    turns=options.warmup_visits,
                    duration=options.duration,
                )  # first calls: connections, caches; not measured
                for concurrency in options.levels:
                    print(f"  {backends.label}: {concurrency} at a time ...", flush=True)
                    load_before = os.getloadavg()
                    pids = process_ids(workers, rasa)
                    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    if options.profile:
                        os.kill(workers[0].process.pid, signal.SIGUSR1)
                    outcomes, pana_wall = await drive(
                        driver, planner, rng, concurrency=concurrency, turns=options.turns, duration=options.duration
                    )
                    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    profile = await profiled_level(workers[0], logs, concurrency) if options.profile else None
                    texts = [o.text for o in outcomes if o.text]
                    parses, parse_failed, parse_wall = await parse_alone(
                        session, rasa.settings, texts, concurrency=concurrency, limit=options.request_timeout
                    )
                    figures = level_figures(
                        [asdict(o) for o in outcomes],
                        parses,
                        pana_wall=pana_wall,
                        parse_wall=parse_wall,
                        parse_failed=parse_failed,
                    )
                    levels.append(
                        {
                            "concurrency": concurrency,
                            **figures,
                            "kinds": {
                                k: sum(1 for o in outcomes if o.kind == k)
                                for k in ("question", "option", "lawyer", "consent")
                            },
                            "rss_kib": process_memory(workers, rasa),
                            "cpu": cpu_used(cpu_before, cpu_after, sum(1 for o in outcomes if o.ok)),
                            "load_average": {"before": load_before, "after": os.getloadavg()},
                            "cases_in_database": await count_cases(database_url),
                        }
                        | ({"profile": profile} if profile is not None else {})
                    )
        finally:
            codes = await stop_workers(workers)
    return {
        "backends": backends.label,
        "database": backends.database,
        "state": backends.state,
        "workers": options.workers,
        "levels": levels,
        "worker_exit_codes": codes,
    }


async def run(options: Options, stamp: str) -> dict[str, Any]:
    folder = options.output / stamp
    folder.mkdir(parents=True, exist_ok=True)
    examples = load_test_set(REPO_ROOT / "nlu" / "tests")
    port = options.rasa_port
    rasa = RasaServer(RasaSettings(host="127.0.0.1", port=port, url=f"http://127.0.0.1:{port}"), folder / "rasa.log")
    bot_api, twilio = BenchBotApi(), BenchTwilioApi()
    await bot_api.start()
    await twilio.start()
    runs: list[dict[str, Any]] = []
    load_start = os.getloadavg()
    try:
        print(f"Starting Rasa on 127.0.0.1:{port} ...", flush=True)
        started = time.monotonic()
        await rasa.start()
        rasa_start = time.monotonic() - started
        for backends in options.backends:
            runs.append(await run_backends(options, backends, rasa, bot_api, twilio, examples, folder))
    finally:
        await rasa.stop()
        await twilio.close()
        await bot_api.close()
    return {
        "stamp": stamp,
        "machine": {"cpus": os.cpu_count(), "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "rasa_start_seconds": round(rasa_start, 1),
        "options": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(options).items()
            if k not in ("backends", "postgres_url", "redis_url")
        }
        | {"backends": [b.label for b in options.backends]},
        "runs": runs,
        "logs": str(folder),
    }
