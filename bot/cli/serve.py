"""`pana serve`: the HTTP server (health, webhooks), Telegram by webhook or long polling, WhatsApp by webhook."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from bot.app import create_app, create_keyring
from bot.channels.base import Channel
from bot.errors import NluProjectError, PanaError
from bot.metrics import MetricsRoutes
from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer
from bot.registry import create_channels, create_console
from bot.settings import Settings
from bot.storage.database import create_engine, migrate
from bot.web import Readiness, create_web_app

log = logging.getLogger(__name__)


async def run_serve(settings: Settings, *, as_worker: bool = False) -> int:
    """One process; `as_worker`: one of `pana serve --workers N` (shares the port; Rasa is the supervisor's)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if as_worker:
        await _serve(settings, stop, reuse_port=True)  # the supervisor migrated before the workers
        return 0
    await migrate_apart()
    nlu = NluServer(settings.rasa, RasaProject(settings.rasa.project_dir), quiet=True)
    try:
        if await _start_nlu(nlu, stop):
            await _serve(settings, stop)
    finally:
        await nlu.stop()  # a Rasa started here, ready or still loading
    return 0


async def _start_nlu(nlu: NluServer, stop: asyncio.Event) -> bool:
    """Find or start the NLU server; False when SIGTERM came first (a Rasa loads for minutes on a busy machine)."""
    starting = asyncio.ensure_future(nlu.__aenter__())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        log.info("Stopped while the NLU server was starting")
        return False
    try:
        starting.result()
    except NluProjectError as error:  # an external Rasa may come up later; answer with menus meanwhile
        log.warning("No NLU server: %s", error)
    return True


async def migrate_only(settings: Settings) -> int:
    """`pana serve --migrate-only`: bring the schema to the newest revision, then exit."""
    engine = create_engine(settings.database, create_keyring(settings))  # the key file, made here when missing
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return 0


async def migrate_apart() -> None:
    """Migrate in a short-lived child: Alembic and Mako (~10 MB) then never load in the process that serves."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--migrate-only", stdin=asyncio.subprocess.DEVNULL
    )
    if await child.wait() != 0:
        raise PanaError(f"the database migration failed (exit {child.returncode}); its error is above")


async def _serve(settings: Settings, stop: asyncio.Event, *, reuse_port: bool = False) -> None:
    # aiogram logs every handled update at INFO: a line per turn through the redaction, and nothing news.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    app = await create_app(settings, migrate_schema=False)  # migrated before, by migrate_apart (here or the supervisor)
    try:
        channels = create_channels(settings, app)
    except BaseException:  # a channel misconfigured: release the database and NLU client before stopping
        await app.close()
        raise
    console = [create_console(settings, app)] if settings.pana.console else []
    readiness = Readiness()  # /readyz: 503 until the channels run
    token = settings.pana.metrics_token
    metrics = MetricsRoutes(
        token=token.get_secret_value() if token else None, figures=app.queue_figures, health=app.health
    )
    runner = web.AppRunner(create_web_app(app, *channels, *console, metrics, readiness=readiness))
    await runner.setup()
    await web.TCPSite(runner, settings.pana.host, settings.pana.port, reuse_port=reuse_port or None).start()
    log.info("Pana listens on http://%s:%d with %s", settings.pana.host, settings.pana.port, _names(channels))
    if console:
        log.info("The staff console is at /console/")
    started: list[Channel] = []
    try:
        for channel in channels:
            await channel.start()
            started.append(channel)
        app.handoff.worker.start()  # after the channels registered how to reach people and lawyers
        app.retention.start()  # and what they keep
        app.recovery.start()  # answers what a crash or a failed send left unanswered
        readiness.ready = True
        await stop.wait()
    finally:
        readiness.ready = False  # load balancers stop sending before the channels stop
        await app.recovery.stop()
        await app.handoff.worker.stop()  # before the channels' sessions close under it
        for channel in reversed(started):
            await channel.stop()
        await runner.cleanup()
        await app.close()


def _names(channels: list[Channel]) -> str:
    return ", ".join(channel.name for channel in channels) or "no channel"
