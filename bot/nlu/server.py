"""Start the Rasa server when none answers, wait until its model is loaded, stop what we started."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from types import TracebackType

import aiohttp

from bot.errors import NluProjectError, NluUnavailable
from bot.nlu.auth import auth_headers, new_server_secret
from bot.nlu.project import RasaProject
from bot.settings import RasaSettings


async def server_ready(settings: RasaSettings, *, wait: float = 2.0) -> bool:
    """True when a Rasa server at RASA_URL answers /status (with our credentials) with a loaded model."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=wait)) as session,
            session.get(f"{settings.base_url}/status", headers=auth_headers(settings)) as response,
        ):
            body = await response.json(content_type=None) if response.status == 200 else {}
            return bool(body.get("model_file"))
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return False


class NluServer:
    """`async with NluServer(...)`: a ready Rasa server inside the block."""

    def __init__(
        self, settings: RasaSettings, project: RasaProject, *, quiet: bool = False, log_name: str = "server.log"
    ) -> None:
        self._settings = settings
        self._log_name = log_name
        self._project = project
        self._quiet = quiet
        self._process: asyncio.subprocess.Process | None = None
        self.start_seconds: float | None = None

    @property
    def started_here(self) -> bool:
        return self._process is not None

    async def __aenter__(self) -> NluServer:
        if not await server_ready(self._settings):
            await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        command = self._project.serve_command(self._settings)
        self._project.log_dir.mkdir(exist_ok=True)
        log_path = self._project.log_dir / self._log_name
        if not self._quiet:
            print(f"Starting the NLU server at {self._settings.base_url} ...", file=sys.stderr)
        started = time.monotonic()
        secret = new_server_secret(self._settings)  # a new random one at every start unless RASA_TOKEN is set
        with log_path.open("w") as log:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                cwd=self._project.root,
                env=self._project.environment(),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        if self._process.stdin is None:  # cannot happen with stdin=PIPE; keeps the type checker honest
            raise NluUnavailable("the Rasa launcher gave no input pipe")
        self._process.stdin.write(secret.encode() + b"\n")  # the launcher hands it to Rasa in-process
        await self._process.stdin.drain()
        self._process.stdin.close()
        deadline = started + self._settings.start_timeout
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise NluProjectError(f"the NLU server exited with {self._process.returncode}; see {log_path}")
            if await server_ready(self._settings, wait=1.0):
                self.start_seconds = time.monotonic() - started
                if not self._quiet:
                    print(f"NLU server ready in {self.start_seconds:.1f} s", file=sys.stderr)
                return
            await asyncio.sleep(0.5)
        await self.stop()
        raise NluProjectError(f"the NLU server was not ready within {self._settings.start_timeout:.0f} s")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
