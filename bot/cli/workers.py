"""`pana serve --workers N`: N processes answering on one port, sharing the database and Redis.

Each worker is a whole `pana serve` that binds PANA_PORT with SO_REUSEPORT, so the kernel spreads new
connections over them; there is no proxy process to pass through. This supervisor migrates the database
once, starts Rasa when none answers, points the workers' metrics at one folder (bot/metrics.py), restarts
a worker that dies, and stops them all on SIGTERM/SIGINT. Several workers need Redis (the dialogue state,
per-person locks and the sweeps' leases are shared there) and the Telegram webhook (one poller only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from prometheus_client import multiprocess as prometheus_multiprocess

from bot.cli.serve import migrate_apart
from bot.errors import NluProjectError, PanaError
from bot.metrics import MULTIPROCESS_ENV
from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer
from bot.private_files import private_dir
from bot.settings import Settings

log = logging.getLogger(__name__)

STOP_SECONDS = 20.0  # a worker finishes its requests in flight within this after SIGTERM
RESTART_DELAY = 1.0
QUICK_DEATH_SECONDS = 10.0  # a worker that dies this soon after starting, three times in a row, is broken
QUICK_DEATHS_ALLOWED = 3


def check_workers(settings: Settings, count: int) -> None:
    """Refuse set-ups where several workers would disagree or compete."""
    if count <= 1:
        return
    if not settings.redis.url_value():
        raise PanaError("several workers need REDIS_URL: the dialogue state and per-person order are shared there")
    if settings.telegram.bot_token and not settings.telegram.webhook_url:
        raise PanaError("several workers need TELEGRAM_WEBHOOK_URL: only one process may poll Telegram")


async def run_workers(settings: Settings, count: int) -> int:
    check_workers(settings, count)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await migrate_apart()  # once, before the workers (the key file too): they find the schema at its newest revision
    nlu = NluServer(settings.rasa, RasaProject(settings.rasa.project_dir), quiet=True)
    try:
        await nlu.__aenter__()
    except NluProjectError as error:  # an external Rasa may come up later; workers answer with menus meanwhile
        log.warning("No NLU server: %s", error)
    metrics_dir = settings.pana.var_dir / "metrics" / f"serve-{os.getpid()}"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # a crashed run with the same pid must not add its counts
    private_dir(metrics_dir)
    try:
        return await Supervisor(count, metrics_dir).run(stop)
    finally:
        await nlu.stop()
        shutil.rmtree(metrics_dir, ignore_errors=True)


class Supervisor:
    def __init__(self, count: int, metrics_dir: Path) -> None:
        self._count = count
        self._env = {**os.environ, MULTIPROCESS_ENV: str(metrics_dir)}
        self._metrics_dir = metrics_dir
        self._quick_deaths = 0

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--as-worker", env=self._env, stdin=asyncio.subprocess.DEVNULL
        )

    async def run(self, stop: asyncio.Event) -> int:
        workers = {await self._spawn(): time.monotonic() for _ in range(self._count)}
        log.info("Started %d workers: %s", self._count, ", ".join(str(p.pid) for p in workers))
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                exits = {asyncio.create_task(process.wait()): process for process in workers}
                done, _ = await asyncio.wait({stopping, *exits}, return_when=asyncio.FIRST_COMPLETED)
                for task in exits:
                    task.cancel()
                if stop.is_set():
                    break
                for task in done - {stopping}:
                    process = exits[task]
                    if not self._replaceable(process, time.monotonic() - workers.pop(process)):
                        return 1
                    await asyncio.sleep(RESTART_DELAY)
                    workers[await self._spawn()] = time.monotonic()
            return 0
        finally:
            stopping.cancel()
            await asyncio.gather(*(_stop(process) for process in workers))
            for process in workers:
                prometheus_multiprocess.mark_process_dead(process.pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]

    def _replaceable(self, process: asyncio.subprocess.Process, lived: float) -> bool:
        prometheus_multiprocess.mark_process_dead(process.pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]
        self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
        if self._quick_deaths >= QUICK_DEATHS_ALLOWED:
            log.error("Worker %d exited with %s soon after starting, again; stopping", process.pid, process.returncode)
            return False
        log.warning("Worker %d exited with %s; starting another", process.pid, process.returncode)
        return True


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
