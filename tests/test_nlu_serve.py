"""`pana nlu serve` under a service manager: SIGTERM to it stops the Rasa server it runs, never leaving an orphan."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time

from bot.nlu.server import NluServer, server_ready
from bot.settings import RasaSettings
from tests.conftest import PANA, TEST_RASA_PORT

READY_LIMIT = 300.0  # seconds for the model to load, at most, on a loaded 2-core machine
STOP_LIMIT = 60.0


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
