"""Build the WhatsApp channel from settings and the core."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.channels.locks import PersonLocks
from bot.channels.whatsapp.api import TwilioMessages
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.convert import CHANNEL
from bot.channels.whatsapp.ledger import DeliveryLedger
from bot.channels.whatsapp.options import OptionMemory
from bot.channels.whatsapp.sender import RetryPolicy, WhatsAppSender
from bot.channels.whatsapp.webhook import STATUS_PATH, WhatsAppWebhook
from bot.core.messages import IncomingMessage
from bot.core.ports import Dialogue, StateStore
from bot.errors import ConfigurationError
from bot.periodic import Periodic
from bot.settings import TwilioSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WhatsAppRuntime:
    """The WhatsApp channel as `pana serve` runs it (a `Channel`, bot/channels/base.py)."""

    channel: WhatsAppChannel  # also the handoff's `UserSender` for WhatsApp users
    outbox: WhatsAppSender
    webhook: WhatsAppWebhook
    ledger: DeliveryLedger
    api: TwilioMessages
    stranded: Periodic  # what a process that died left in the outbox, sent while this one serves
    name: str = CHANNEL

    @property
    def sender(self) -> WhatsAppChannel:
        return self.channel

    @property
    def replay(self) -> Callable[[IncomingMessage], Awaitable[None]]:
        return self.channel.replay

    def install(self, app: web.Application) -> None:
        """Add the webhook routes; when the HTTP server starts, send what a previous run left, and from then on
        what a process that died while serving alongside (or just before) this one left."""
        self.webhook.install(app)
        app.on_startup.append(self._resume)

    async def start(self) -> None:
        """Nothing more: Twilio calls the webhook, and the outbox resumed when the HTTP server started."""
        log.info("WhatsApp webhook: %s", self.webhook.url)

    async def stop(self) -> None:
        """Nothing to stop before the HTTP server: `close` (an app resource) ends the sender and the API client."""

    async def _resume(self, _: web.Application) -> None:
        await self.outbox.resume()
        self.stranded.start()

    async def close(self) -> None:
        await self.stranded.stop()
        await self.outbox.close()
        await self.api.close()


def create_runtime(
    settings: TwilioSettings,
    *,
    public_url: str | None,
    conversation: Dialogue,
    ledger: DeliveryLedger,
    state: StateStore,
    options_ttl_seconds: int,
    resume_interval_seconds: float,
    retry: RetryPolicy | None = None,
    locks: PersonLocks | None = None,
) -> WhatsAppRuntime:
    if not (settings.account_sid and settings.auth_token and settings.whatsapp_from):
        raise ConfigurationError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM must all be set")
    if not public_url:
        raise ConfigurationError("PANA_PUBLIC_URL must be set for WhatsApp: Twilio signs the public URL it calls")
    if not settings.templates():
        log.warning("No TWILIO_TEMPLATE_* set: texts sent after the 24-hour window wait until the contact writes")
    token = settings.auth_token.get_secret_value()
    api = TwilioMessages(
        account_sid=settings.account_sid, auth_token=token, sender=settings.whatsapp_from, api_base=settings.api_base
    )
    sender = WhatsAppSender(
        api,
        ledger,
        status_url=public_url.rstrip("/") + STATUS_PATH,
        templates=settings.templates(),
        retry=retry,
        lease=dt.timedelta(seconds=settings.submission_lease_seconds),
    )
    channel = WhatsAppChannel(
        conversation=conversation,
        sender=sender,
        options=OptionMemory(state, ttl_seconds=options_ttl_seconds),
        locks=locks,
    )
    webhook = WhatsAppWebhook(
        channel, sender, auth_token=token, public_url=public_url, connection_overrides=settings.connection_overrides
    )
    stranded = Periodic("WhatsApp outbox sweep", sender.resume_stranded, resume_interval_seconds)
    return WhatsAppRuntime(channel, sender, webhook, ledger, api, stranded)
