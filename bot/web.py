"""The HTTP server of `pana serve`: health, and the channels' webhooks."""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.app import App

if TYPE_CHECKING:
    from bot.channels.whatsapp.factory import WhatsAppRuntime

log = logging.getLogger(__name__)

APP_KEY = web.AppKey("pana", App)
TELEGRAM_KEY = web.AppKey("telegram", object)
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


@dataclass(frozen=True)
class TelegramRuntime:
    bot: Bot
    dispatcher: Dispatcher
    secret: str | None  # None: long polling, and no webhook route


async def healthz(request: web.Request) -> web.Response:
    report = await request.app[APP_KEY].health()
    healthy = report["database"] == "ok" and report["redis"] in ("ok", "not configured")
    body = {"status": "ok" if healthy and report["nlu"] == "ok" else "degraded" if healthy else "down", **report}
    return web.json_response(body, status=200 if healthy else 503)


async def telegram_webhook(request: web.Request) -> web.Response:
    """Check the secret, parse the update, handle it before answering (so a failure is redelivered)."""
    telegram = request.app[TELEGRAM_KEY]
    assert isinstance(telegram, TelegramRuntime)
    given = request.headers.get(SECRET_HEADER, "")
    if telegram.secret is None or not hmac.compare_digest(given.encode(), telegram.secret.encode()):
        return web.Response(status=401, text="Unauthorized")
    try:
        update = Update.model_validate(await request.json(loads=json.loads), context={"bot": telegram.bot})
    except (ValueError, ValidationError):
        log.warning("Rejected a malformed Telegram update")
        return web.Response(status=400, text="Malformed update")
    try:
        await telegram.dispatcher.feed_update(telegram.bot, update)
    except Exception:
        log.exception("Handling Telegram update %d failed; Telegram will deliver it again", update.update_id)
        return web.Response(status=500, text="Try again")
    return web.json_response({})


def create_web_app(
    app: App, telegram: TelegramRuntime | None = None, whatsapp: WhatsAppRuntime | None = None
) -> web.Application:
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    if telegram is not None and telegram.secret is not None:  # webhook mode only
        web_app[TELEGRAM_KEY] = telegram
        web_app.router.add_post(TELEGRAM_WEBHOOK_PATH, telegram_webhook)
    if whatsapp is not None:
        whatsapp.install(web_app)
    return web_app
