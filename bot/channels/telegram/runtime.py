"""The Telegram channel as `pana serve` runs it: the webhook route, then webhook registration or long polling."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.channels.telegram.convert import CHANNEL
from bot.channels.telegram.factory import register_commands
from bot.channels.telegram.failures import RepeatedFailures
from bot.channels.telegram.outgoing import TelegramUserSender
from bot.channels.telegram.routers import handle
from bot.core.messages import IncomingMessage
from bot.core.ports import Dialogue
from bot.errors import InFlight
from bot.i18n import Translator

log = logging.getLogger(__name__)

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)


def secret_matches(given: str, secret: str) -> bool:
    """Compare in constant time; header bytes that are not UTF-8 arrive as surrogates and must not raise.

    aiohttp decodes header bytes with `surrogateescape`; `surrogatepass` encodes those and any other
    surrogate without raising, and no configured secret contains one.
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass"))


async def update_body(request: web.Request) -> Any:
    """The update's JSON, read with orjson from the body's bytes (Telegram sends UTF-8; another charset is decoded).

    Not JSON, or a charset Python does not know, raises ValueError or LookupError: a malformed update.
    """
    body = await request.read()
    charset = request.charset
    text = body if charset is None or charset.lower() in ("utf-8", "utf8") else body.decode(charset)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # orjson refuses what json accepts (an escaped lone surrogate): json decides
        return json.loads(text)


@dataclass
class TelegramRuntime:
    """The bot and its dispatcher; `webhook_url` unset means long polling."""

    bot: Bot
    dispatcher: Dispatcher
    conversation: Dialogue
    secret: str | None  # None: long polling, and no webhook route at all
    translator: Translator
    webhook_url: str | None = None
    failures: RepeatedFailures | None = None  # None: every failure is left to Telegram's redelivery
    name: str = field(default=CHANNEL, init=False)
    sender: TelegramUserSender = field(init=False)  # the handoff's way to this channel's users
    _polling: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.sender = TelegramUserSender(self.bot)

    @property
    def replay(self) -> Callable[[IncomingMessage], Awaitable[None]]:
        return self.answer_again

    async def answer_again(self, message: IncomingMessage) -> None:
        """A message stored but unanswered (the recovery sweep): in a private chat, the chat id is the user's."""
        await handle(self.bot, self.conversation, message.user_id, message)

    def install(self, web_app: web.Application) -> None:
        """Add the webhook route in webhook mode (it answers only requests that carry the secret)."""
        if self.secret is None:
            return
        web_app.router.add_post(TELEGRAM_WEBHOOK_PATH, self.webhook)

    async def webhook(self, request: web.Request) -> web.Response:
        """Check the secret, parse the update, handle it before answering (so a failure is redelivered)."""
        if self.secret is None or not secret_matches(request.headers.get(SECRET_HEADER, ""), self.secret):
            return web.Response(status=401, text="Unauthorized")
        try:
            update = Update.model_validate(await update_body(request), context={"bot": self.bot})
        except (ValueError, LookupError, ValidationError):
            log.warning("Rejected a malformed Telegram update")
            return web.Response(status=400, text="Malformed update")
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except InFlight:  # the same update is being handled now: Telegram delivers it again later
            log.info("Telegram update %d is being handled already; asked for a retry", update.update_id)
            return web.Response(status=503, text="In flight, try again")
        except Exception:
            if self.failures is not None and await self.failures.failed(update.update_id):
                await self.failures.give_up(self.bot, update)
                return web.json_response({})
            log.exception("Handling Telegram update %d failed; Telegram will deliver it again", update.update_id)
            return web.Response(status=500, text="Try again")
        return web.json_response({})

    async def start(self) -> None:
        """Set the command menus, then register the webhook or start long polling."""
        try:
            await register_commands(self.bot, self.translator)
        except TelegramAPIError:  # only the command menus suffer; messages still flow once Telegram answers
            log.warning("Could not register the Telegram commands; continuing without them", exc_info=True)
        updates = self.dispatcher.resolve_used_update_types()
        if self.webhook_url and self.secret is not None:
            url = self.webhook_url.rstrip("/")
            if not url.endswith(TELEGRAM_WEBHOOK_PATH):
                url += TELEGRAM_WEBHOOK_PATH
            await self.bot.set_webhook(
                url, secret_token=self.secret, allowed_updates=updates, drop_pending_updates=False
            )
            log.info("Telegram webhook registered")
            return
        await self.bot.delete_webhook(drop_pending_updates=False)  # polling does not work while a webhook is set
        log.info("Telegram long polling started")
        # One update at a time, handled before the next getUpdates confirms it: aiogram's default (a task per
        # update) confirms an update while it is still being handled, so a crash before the message was stored
        # lost it for good. Handled first, a killed process's update comes again to the next one.
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=updates,
                handle_as_tasks=False,
            )
        )

    async def stop(self) -> None:
        """Stop long polling (a webhook needs nothing: the HTTP server stops taking requests)."""
        polling, self._polling = self._polling, None
        if polling is None:
            return
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:  # stopped before the task took aiogram's lock: stop_polling cannot reach it, so it
            polling.cancel()  # must never begin (begun later, it would poll until killed)
        await asyncio.gather(polling, return_exceptions=True)
