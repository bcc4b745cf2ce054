"""One inbound WhatsApp message through the core; everything it causes is stored before Twilio gets its 200."""

from __future__ import annotations

import logging

from bot.channels.claims import Claims, handle_once
from bot.channels.locks import KeyedLocks
from bot.channels.numbered import numbered_options
from bot.channels.whatsapp.convert import InboundMessage, to_incoming
from bot.channels.whatsapp.options import OptionMemory
from bot.channels.whatsapp.render import render_turn
from bot.channels.whatsapp.sender import WhatsAppSender
from bot.clock import utc_now
from bot.core.messages import Option, Outcome
from bot.core.ports import ContactRecord, Dialogue
from bot.languages import Language

log = logging.getLogger(__name__)


class WhatsAppChannel:
    def __init__(
        self, *, conversation: Dialogue, sender: WhatsAppSender, options: OptionMemory, claims: Claims
    ) -> None:
        self._conversation = conversation
        self._sender = sender
        self._options = options
        self._claims = claims
        self._contacts = KeyedLocks()  # one message per person at a time, so replies keep their order

    async def receive(self, inbound: InboundMessage) -> bool:
        """Record the message, decide the replies and put them in the outbox; False for a redelivery."""

        async def answer() -> bool:
            async with self._contacts.hold(inbound.platform_id):
                return await self._answer(inbound)

        return await handle_once(self._claims, f"whatsapp:in:{inbound.message_sid}", answer) or False

    async def send(
        self, contact: ContactRecord, text: str, language: Language, options: tuple[Option, ...] = ()
    ) -> bool:
        """Deliver a text that is not a reply (the handoff's UserSender); True once the outbox holds it."""
        outcome = await self._sender.send_text(contact.platform_id, language, text, options)
        if options:
            await self._options.remember(contact.platform_id, options)
        log.info("A WhatsApp text for contact %d was %s", contact.id, outcome)
        return True

    async def _answer(self, inbound: InboundMessage) -> bool:
        platform_id = inbound.platform_id
        received = utc_now()
        options = await self._options.recall(platform_id)
        turn = await self._conversation.handle(to_incoming(inbound, options))  # stores the message first
        if turn.outcome is Outcome.DUPLICATE:
            return False
        released = await self._sender.contact_wrote(platform_id, received)
        if released:
            log.info("Released %d held WhatsApp message(s) on %s", released, inbound.message_sid)
        await self._sender.enqueue(platform_id, turn.language, render_turn(turn))
        await self._conversation.delivered(turn)  # the outbox holds the replies now
        if turn.outcome is Outcome.DELETED:
            await self._options.forget(platform_id)
            self._sender.erase_soon()  # their messages at Twilio, in the background
        elif turn.replies:
            await self._options.remember(platform_id, numbered_options(turn) or ())
        return True
