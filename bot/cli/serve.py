"""`pana serve`: the HTTP server (health, webhooks), Telegram by webhook or long polling, WhatsApp by webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.app import create_app, create_telegram, create_whatsapp
from bot.errors import NluProjectError
from bot.nlu.project import RasaProject
from bot.nlu.server import NluServer
from bot.settings import Settings
from bot.web import TELEGRAM_WEBHOOK_PATH, TelegramRuntime, create_web_app

log = logging.getLogger(__name__)


async def run_serve(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nlu = NluServer(settings.rasa, RasaProject(settings.rasa.project_dir), quiet=True)
    try:
        await nlu.__aenter__()
    except NluProjectError as error:  # an external Rasa may come up later; answer with menus meanwhile
        log.warning("No NLU server: %s", error)
    try:
        await _serve(settings, stop)
    finally:
        await nlu.stop()
    return 0


async def _serve(settings: Settings, stop: asyncio.Event) -> None:
    app = await create_app(settings)
    try:
        telegram: TelegramRuntime | None = create_telegram(settings, app) if settings.telegram.bot_token else None
        whatsapp = create_whatsapp(settings, app) if settings.twilio.configured else None
    except BaseException:  # a channel misconfigured: release the database and NLU client before stopping
        await app.close()
        raise
    runner = web.AppRunner(create_web_app(app, telegram, whatsapp))
    await runner.setup()
    await web.TCPSite(runner, settings.pana.host, settings.pana.port).start()
    log.info("Pana listens on http://%s:%d", settings.pana.host, settings.pana.port)
    if whatsapp is not None:
        log.info("WhatsApp webhook: %s/whatsapp/webhook", settings.pana.public_url)
    polling: asyncio.Task[None] | None = None
    try:
        if telegram is not None:
            polling = await _start_telegram(settings, app.translations, telegram)
        app.handoff.worker.start()  # after the channels registered how to reach people and lawyers
        app.retention.start()  # and what they keep
        await stop.wait()
    finally:
        await app.handoff.worker.stop()  # before the channels' sessions close under it
        if polling is not None:
            with contextlib.suppress(RuntimeError):
                await telegram.dispatcher.stop_polling()  # type: ignore[union-attr]
            await asyncio.gather(polling, return_exceptions=True)
        await runner.cleanup()
        await app.close()


async def _start_telegram(settings: Settings, translator, telegram: TelegramRuntime) -> asyncio.Task[None] | None:  # type: ignore[no-untyped-def]
    from aiogram.exceptions import TelegramAPIError

    from bot.channels.telegram.factory import register_commands

    bot, dispatcher = telegram.bot, telegram.dispatcher
    try:
        await register_commands(bot, translator)
    except TelegramAPIError:  # only the command menus suffer; messages still flow once Telegram answers
        log.warning("Could not register the Telegram commands; continuing without them", exc_info=True)
    updates = dispatcher.resolve_used_update_types()
    if settings.telegram.webhook_url and telegram.secret is not None:
        url = settings.telegram.webhook_url.rstrip("/")
        if not url.endswith(TELEGRAM_WEBHOOK_PATH):
            url += TELEGRAM_WEBHOOK_PATH
        await bot.set_webhook(url, secret_token=telegram.secret, allowed_updates=updates, drop_pending_updates=False)
        log.info("Telegram webhook registered")
        return None
    await bot.delete_webhook(drop_pending_updates=False)  # polling does not work while a webhook is set
    log.info("Telegram long polling started")
    return asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False, allowed_updates=updates)
    )
