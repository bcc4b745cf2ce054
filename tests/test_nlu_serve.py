"""`pana nlu serve` and `pana serve` under a service manager: SIGTERM stops the Rasa server they run, at once, even
while it is still loading, and never leaves an orphan."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from bot.nlu.server import NluServer, server_ready
from bot.settings import RasaSettings
from tests.conftest import PANA, TEST_RASA_PORT
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

READY_LIMIT = 300.0  # seconds for the model to load, at most, on a loaded 2-core machine
STOP_LIMIT = 60.0


def _rasa_children(parent: int) -> list[int]:
    """The pids of the Rasa servers `parent` started (Linux /proc: their parent and their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if ppid == parent and b"rasa_launcher" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_sigterm_to_pana_nlu_serve_stops_its_rasa(rasa_server: NluServer, rasa_settings: RasaSettings) -> None:
    port = TEST_RASA_PORT + 101  # the session's server is trained and running; this one loads its model
    settings = rasa_settings.model_copy(update={"port": port, "url": f"http://127.0.0.1:{port}"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASA_")}
    env.update(RASA_HOST="127.0.0.1", RASA_PORT=str(port))
    process = await asyncio.create_subprocess_exec(
        *PANA,
        "nlu",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # its own process group: a failed run's orphan is killed with it below
    )
    try:
        deadline = time.monotonic() + READY_LIMIT
        while not await server_ready(settings) and time.monotonic() < deadline:
            assert process.returncode is None, "pana nlu serve exited before its server was ready"
            await asyncio.sleep(1.0)
        assert await server_ready(settings), "the server did not load its model in time"

        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=STOP_LIMIT)
        deadline = time.monotonic() + STOP_LIMIT
        while _listening(port) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert not _listening(port), "Rasa outlived the pana nlu serve that ran it"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever of the group is left, after a failure
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def test_sigterm_while_pana_serve_starts_its_rasa_stops_both_before_the_model_is_loaded(
    bot_api: FakeBotApi, tmp_path: Path
) -> None:
    """A restart during a deployment: the signal is not kept waiting for a model that loads for minutes."""
    port = TEST_RASA_PORT + 102  # nothing answers there: `pana serve` starts a Rasa of its own
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        web_port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RASA_", "TELEGRAM_"))}
    env.update(
        RASA_HOST="127.0.0.1",
        RASA_PORT=str(port),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=bot_api.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        PANA_PORT=str(web_port),
    )
    process = await asyncio.create_subprocess_exec(
        *PANA,
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    rasa: list[int] = []
    try:
        deadline = time.monotonic() + READY_LIMIT
        while not (rasa := _rasa_children(process.pid)) and time.monotonic() < deadline:
            assert process.returncode is None, "pana serve exited before it started a Rasa"
            await asyncio.sleep(0.2)
        assert rasa, "pana serve started no Rasa where none answered"

        process.terminate()
        deadline = time.monotonic() + STOP_LIMIT
        answered = False
        while process.returncode is None and time.monotonic() < deadline:
            answered = answered or _listening(port)
            await asyncio.sleep(0.1)
        assert process.returncode == 0, "pana serve stopped cleanly on SIGTERM"
        assert not answered, "the start was awaited to its end (the model loaded) before the stop was heard"
        assert not any(_alive(pid) for pid in rasa), "the Rasa it started is stopped with it"
    finally:
        for pid in rasa:  # a failed run's Rasa has its own process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
