"""One inbound WhatsApp message through the core; everything it causes is stored before Twilio gets its 200.

Persist first: no claim is taken before the message is stored. The record's unique platform message id is the
lasting dedupe, and the stored message's lease keeps two deliveries from deciding it twice. A claim taken first
(busy for PANA_CLAIM_SECONDS) left a window: a process killed after claiming and before storing made Twilio's
quick retries (rc=3) meet the claim with 503 until Twilio gave up on a message nobody had stored.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from bot.channels.locks import KeyedLocks, PersonLocks
from bot.channels.numbered import numbered_options
from bot.channels.whatsapp.convert import CHANNEL, InboundMessage, to_incoming
from bot.channels.whatsapp.options import OptionMemory
from bot.channels.whatsapp.render import render_turn
from bot.channels.whatsapp.sender import WhatsAppSender
from bot.clock import utc_now
from bot.core.messages import IncomingMessage, Option, Outcome
from bot.core.ports import ContactRecord, Dialogue
from bot.errors import HeldElsewhere
from bot.faults import crash_point
from bot.languages import Language

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Receipt:
    handled: bool  # False: a redelivery, nothing new
    direct: tuple[str, ...] = ()  # replies for the webhook's own answer: the record was down, nothing stored


class WhatsAppChannel:
    def __init__(
        self,
        *,
        conversation: Dialogue,
        sender: WhatsAppSender,
        options: OptionMemory,
        locks: PersonLocks | None = None,
    ) -> None:
        self._conversation = conversation
        self._sender = sender
        self._options = options
        # One message per person at a time (across workers when the lock is shared), so replies keep their order.
        # `is None`, not `or`: an empty KeyedLocks is falsy (it has a length), and `or` swapped the app's bounded
        # lock for an unbounded one of the channel's own.
        self._locks: PersonLocks = locks if locks is not None else KeyedLocks()

    async def receive(self, inbound: InboundMessage) -> Receipt:
        """Record the message, decide the replies and put them in the outbox (or hand back the static reply).

        A delivery of a message stored before and held by another handler is acknowledged: the message is
        kept, and its answer comes from that handler or, if it died, from the recovery sweep.
        """
        async with self._person(inbound.platform_id):
            try:
                return await self._answer(inbound)
            except HeldElsewhere:
                log.info("WhatsApp message %s is stored and held by another handler; acknowledged", inbound.message_sid)
                return Receipt(False)

    async def send(
        self,
        contact: ContactRecord,
        text: str,
        language: Language,
        options: tuple[Option, ...] = (),
        *,
        relay_id: int | None = None,
    ) -> bool:
        """Deliver a text that is not a reply (the handoff's UserSender); True once the outbox holds it."""
        outcome = await self._sender.send_text(contact.platform_id, language, text, options, relay_id=relay_id)
        if options:
            await self._options.remember(contact.platform_id, options)
        log.info("A WhatsApp text for contact %d was %s", contact.id, outcome)
        return True

    async def replay(self, message: IncomingMessage) -> None:
        """Answer a message stored before but not answered (the recovery sweep): as a redelivery would."""
        async with self._person(message.user_id):
            await self._process(message.user_id, message)
        self._sender.drain_soon(message.user_id)

    def _person(self, platform_id: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(f"{CHANNEL}:{platform_id}")

    async def _answer(self, inbound: InboundMessage) -> Receipt:
        platform_id = inbound.platform_id
        received = utc_now()
        options = await self._options.recall(platform_id)
        incoming = to_incoming(inbound, options)
        return await self._process(platform_id, incoming, received)

    async def _process(
        self, platform_id: str, incoming: IncomingMessage, received: dt.datetime | None = None
    ) -> Receipt:
        turn = await self._conversation.handle(incoming)  # stores the message first, then the decision
        if turn.outcome is Outcome.DUPLICATE:
            return Receipt(False)
        if turn.outcome is Outcome.UNSTORED:  # no outbox without the record: the webhook's answer carries it
            if received is not None:
                # The webhook's answer carries it (a replay by the sweep sends nothing): that reply is the answer
                # to a message stored before the outage, settled once the record is back, so the sweep does not
                # send a second, different one.
                await self._conversation.delivered(turn)
            return Receipt(True, tuple(render_turn(turn)))
        try:  # queued once per message, so a replay after a crash here does not queue the replies twice
            released = await self._sender.answer(
                platform_id, turn.language, render_turn(turn), reply_to=turn.message_id, wrote_at=received
            )
        except BaseException:
            await self._conversation.unsent(turn)
            raise
        if released:
            log.info("Released %d held WhatsApp message(s) on %s", released, incoming.channel_message_id)
        # The outbox holds the replies and the message is marked answered with them: `delivered` is that commit.
        crash_point("before_answered")
        if turn.outcome is Outcome.DELETED:
            await self._options.forget(platform_id)
            self._sender.erase_soon()  # their messages at Twilio, in the background
        elif turn.replies:
            await self._options.remember(platform_id, numbered_options(turn) or ())
        return Receipt(True)
