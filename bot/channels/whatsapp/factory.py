"""Build the WhatsApp channel from settings and the core."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.channels.claims import Claims
from bot.channels.whatsapp.api import TwilioMessages
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.ledger import DeliveryLedger
from bot.channels.whatsapp.options import OptionMemory
from bot.channels.whatsapp.sender import RetryPolicy, WhatsAppSender
from bot.channels.whatsapp.webhook import STATUS_PATH, WhatsAppWebhook
from bot.core.conversation import Conversation
from bot.core.ports import StateStore
from bot.errors import ConfigurationError
from bot.settings import TwilioSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WhatsAppRuntime:
    channel: WhatsAppChannel
    sender: WhatsAppSender
    webhook: WhatsAppWebhook
    ledger: DeliveryLedger
    api: TwilioMessages

    def install(self, app: web.Application) -> None:
        """Add the webhook routes; on start, send what a previous run left."""
        self.webhook.install(app)
        app.on_startup.append(self._start)

    async def _start(self, _: web.Application) -> None:
        await self.sender.resume()

    async def close(self) -> None:
        await self.sender.close()
        await self.api.close()


def create_runtime(
    settings: TwilioSettings,
    *,
    public_url: str | None,
    conversation: Conversation,
    ledger: DeliveryLedger,
    state: StateStore,
    claims: Claims,
    options_ttl_seconds: int,
    retry: RetryPolicy | None = None,
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
        api, ledger, status_url=public_url.rstrip("/") + STATUS_PATH, templates=settings.templates(), retry=retry
    )
    channel = WhatsAppChannel(
        conversation=conversation,
        sender=sender,
        options=OptionMemory(state, ttl_seconds=options_ttl_seconds),
        claims=claims,
    )
    webhook = WhatsAppWebhook(channel, sender, auth_token=token, public_url=public_url)
    return WhatsAppRuntime(channel, sender, webhook, ledger, api)
