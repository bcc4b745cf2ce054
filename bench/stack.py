"""What a run stands on: the Rasa server, `pana serve` workers, a throwaway database, a clean Redis db.

Everything listens on, and talks to, the loopback interface only; every process started here is stopped here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.nlu.auth import new_server_secret
from bot.nlu.project import RasaProject
from bot.nlu.server import server_ready
from bot.settings import DatabaseSettings, RasaSettings
from tests.telegram.fake_bot_api import TOKEN
from tests.whatsapp.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER

REPO = Path(__file__).resolve().parent.parent
PANA = REPO / ".venv" / "bin" / "pana"
PYTHON = REPO / ".venv" / "bin" / "python"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 (a value for local stand-ins only)
LAWYER_TELEGRAM_ID = 900_001
# Settings a worker must not inherit from the shell that started the harness.
INHERITED_PREFIXES = ("DATABASE_", "REDIS_", "RASA_", "TELEGRAM_", "TWILIO_", "PANA_", "LAWYER_", "NLU_")


def require_loopback(url: str) -> str:
    """The URL itself, when its host is a loopback address; the harness never talks to anything else."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise ValueError(f"{url!r} is not a loopback address; the benchmark talks to 127.0.0.1 only")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of one process, in KiB, from /proc; empty when it is gone."""
    figures: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0])
    return figures


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time one process has used so far, from /proc/<pid>/stat; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


async def wait_for_http(url: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    await response.read()
                    return
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.3)
    raise TimeoutError(f"nothing answered at {url} within {limit:.0f} s")


async def stop_process(process: asyncio.subprocess.Process, *, group: bool = False, limit: float = 20) -> None:
    """SIGTERM, then SIGKILL after `limit` seconds."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM) if group else process.terminate()
    try:
        await asyncio.wait_for(process.wait(), limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
        await process.wait()


@dataclass
class RasaServer:
    """The project's Rasa server, started from its own environment with the trained model."""

    settings: RasaSettings
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return self.settings.base_url

    async def start(self) -> None:
        if await server_ready(self.settings):
            raise RuntimeError(f"something already answers at {self.url}; choose another --rasa-port")
        project = RasaProject(self.settings.project_dir)
        command = project.serve_command(self.settings)
        secret = new_server_secret(self.settings)  # as `pana nlu serve`: the launcher reads it from stdin
        with self.log_path.open("w") as log:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                cwd=project.root,
                env=project.environment(),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        # Rasa is locked down (bot/nlu/auth.py): the launcher reads the API's JWT secret from stdin.
        if self.process.stdin is None:  # cannot happen with stdin=PIPE; keeps the type checker honest
            raise RuntimeError("no stdin to hand Rasa its secret")
        self.process.stdin.write(secret.encode() + b"\n")
        await self.process.stdin.drain()
        self.process.stdin.close()
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"Rasa exited with {self.process.returncode}; see {self.log_path}")
            if await server_ready(self.settings, wait=1.0):
                return
            await asyncio.sleep(0.5)
        await self.stop()
        raise TimeoutError(f"Rasa was not ready within {self.settings.start_timeout:.0f} s; see {self.log_path}")

    async def stop(self) -> None:
        if self.process is not None:
            await stop_process(self.process, group=True)


@dataclass(frozen=True)
class Backends:
    database: str  # "sqlite" | "postgresql"
    state: str  # "memory" | "redis"

    @property
    def label(self) -> str:
        return f"{self.database}+{self.state}"


@contextlib.asynccontextmanager
async def throwaway_database(backends: Backends, admin_url: str, folder: Path) -> AsyncIterator[str]:
    """A new, empty database for one set of runs: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if backends.database == "sqlite":
        path = folder / f"{backends.label}.db"
        path.unlink(missing_ok=True)
        yield f"sqlite+aiosqlite:///{path}"
        return
    admin_dsn = DatabaseSettings(url=require_loopback(admin_url)).url.get_secret_value()
    admin = create_async_engine(admin_dsn, isolation_level="AUTOCOMMIT")
    name = f"pana_bench_{uuid.uuid4().hex[:10]}"
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_dsn).set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception):
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def clear_redis(url: str) -> None:
    """Empty the harness's own Redis database (its number is in the URL) so runs start alike."""
    client = aioredis.from_url(require_loopback(url))
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@dataclass
class Worker:
    """One `pana serve`, or with `supervised` one `pana serve --workers N`: N workers on one port."""

    name: str
    port: int
    log_path: Path
    process: asyncio.subprocess.Process
    supervised: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process_ids(self) -> dict[str, int]:
        """The processes that answer: the server itself, or the supervisor's workers (read now: one may restart)."""
        if not self.supervised:
            return {self.name: self.process.pid}
        workers = {f"worker-{i + 1}": pid for i, pid in enumerate(child_pids(self.process.pid))}
        return {"supervisor": self.process.pid, **workers}


def child_pids(pid: int) -> list[int]:
    """The children of one process, from /proc (empty when it is gone)."""
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children.extend(int(c) for c in (task / "children").read_text().split())
    return sorted(children)


def worker_environment(
    *, database_url: str, redis_url: str | None, rasa_url: str, bot_api: str, twilio_api: str, port: int
) -> dict[str, str]:
    """The settings of one `pana serve` worker: both channels by webhook, every upstream a local stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    base_url = f"http://127.0.0.1:{port}"
    env.update(
        DATABASE_URL=database_url,
        RASA_URL=rasa_url,
        PANA_HOST="127.0.0.1",
        PANA_PORT=str(port),
        PANA_PUBLIC_URL=base_url,  # Twilio's signature covers the URL it calls: here the worker itself
        PANA_LOG_LEVEL="WARNING",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api,
        TELEGRAM_WEBHOOK_URL=base_url,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=SENDER.removeprefix("whatsapp:"),
        TWILIO_API_BASE=twilio_api,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


async def register_lawyer(env: dict[str, str], log_path: Path) -> None:
    """One lawyer speaking every language, so the handoff share opens real cases and announces them."""
    with log_path.open("a") as log:
        process = await asyncio.create_subprocess_exec(
            str(PANA),
            "lawyers",
            "add",
            "--telegram-id",
            str(LAWYER_TELEGRAM_ID),
            "--name",
            "Bench",
            "--languages",
            "kk,ru,en",
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )
        code = await asyncio.wait_for(process.wait(), 120)
    if code != 0:
        raise RuntimeError(f"pana lawyers add exited with {code}; see {log_path}")


async def start_workers(
    count: int, env: dict[str, str], folder: Path, limit: float, *, profile: bool = False
) -> list[Worker]:
    """`pana serve` (one worker), or `pana serve --workers N` as deployed: N processes sharing one port.

    `profile`: the one worker runs under bench/profiled.py, which the harness switches on for each level.
    """
    log_path = folder / "serve.log"
    arguments = ["serve", "--workers", str(count)] if count > 1 else ["serve"]
    command = [str(PYTHON), "-m", "bench.profiled", *arguments] if profile else [str(PANA), *arguments]
    if profile:
        env = env | {"PANA_PROFILE_OUT": str(folder / "profile")}
    with log_path.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=REPO, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL
        )
    server = Worker("worker-1", int(env["PANA_PORT"]), log_path, process, supervised=count > 1)
    try:
        await wait_for_http(f"{server.base_url}/healthz", limit)
        deadline = time.monotonic() + limit
        while server.supervised and len(server.process_ids()) < count + 1:  # every worker started
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError(f"pana serve --workers {count} did not start its workers; see {log_path}")
            await asyncio.sleep(0.2)
    except BaseException:
        await stop_workers([server])
        raise
    return [server]


async def stop_workers(workers: list[Worker]) -> list[int | None]:
    await asyncio.gather(*(stop_process(w.process) for w in workers))
    return [w.process.returncode for w in workers]
