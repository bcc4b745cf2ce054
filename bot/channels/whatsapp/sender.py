"""Outgoing WhatsApp messages: the outbox is written first, then drained to Twilio with retries.

The 24-hour rule: free-form messages only within 24 hours of the contact's last message. A text sent later
(a lawyer's answer) outside that window waits, `held`, and the contact gets the approved "please reply"
template instead; their next message releases what waited. Nothing is dropped silently: every delivery
ends with Twilio's status or `failed` and a log line (ids and codes only, never text or numbers).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.backoff import Backoff
from bot.channels.locks import KeyedLocks
from bot.channels.whatsapp.api import Accepted
from bot.channels.whatsapp.convert import address
from bot.channels.whatsapp.ledger import DeliveryLedger
from bot.channels.whatsapp.render import render_reply
from bot.clock import utc_now
from bot.core.messages import Option, Reply
from bot.errors import DeliveryFailed
from bot.faults import crash_point
from bot.languages import Language
from bot.records.whatsapp import FAILED_STATUSES, FINAL_STATUSES, Delivery, Outgoing, Window

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=24)
WINDOW_MARGIN = dt.timedelta(minutes=10)  # a message needs a moment to reach WhatsApp: never cut it close
WINDOW_CLOSED = 63016  # Twilio: a free-form message outside the 24-hour window
# A `submitting` delivery whose claim went unrenewed this long was cut off by a crash (TWILIO_SUBMISSION_LEASE_SECONDS)
STALE_SUBMISSION = dt.timedelta(minutes=2)
CLOSE_GRACE_SECONDS = 10.0
SUBMISSION_WAIT_SECONDS = 5.0  # a status callback's wait for sends in flight: well within Twilio's 15 s timeout
ERASING = "erasing at Twilio"  # the lock that keeps erasure passes one at a time
LaterOutcome = Literal["sent", "held"]


class ClaimLost(Exception):
    """A delivery's claim ran out while its sender waited to try again: taken back, it is another sender's now."""


class MessagesApi(Protocol):
    async def create(
        self,
        to: str,
        *,
        status_callback: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: str | None = None,
    ) -> Accepted: ...

    async def delete(self, message_sid: str) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for what Twilio says may succeed later (429, 5xx, network).

    A Retry-After from Twilio is waited out, up to `max_delay`: a longer one is cut to it (the tries stay
    bounded, and a delivery marked failed after minutes of holding is worse than asking a little early).
    """

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        backoff = Backoff(self.base_delay, self.max_delay, jitter=True)(state)
        if isinstance(error, DeliveryFailed) and error.retry_after is not None:
            return min(max(error.retry_after, backoff), self.max_delay)
        return backoff


def window_open(window: Window, at: dt.datetime) -> bool:
    return window.last_inbound_at is not None and at - window.last_inbound_at < WINDOW - WINDOW_MARGIN


def invited_since_last_message(window: Window) -> bool:
    if window.invited_at is None:
        return False
    return window.last_inbound_at is None or window.invited_at >= window.last_inbound_at


class WhatsAppSender:
    """Writes deliveries to the ledger, then submits them in order, one recipient at a time."""

    def __init__(
        self,
        api: MessagesApi,
        ledger: DeliveryLedger,
        *,
        status_url: str,
        templates: Mapping[str, str],
        retry: RetryPolicy | None = None,
        lease: dt.timedelta = STALE_SUBMISSION,
    ) -> None:
        self._api = api
        self._lease = lease
        self._ledger = ledger
        self._status_url = status_url
        self._templates = dict(templates)
        self._retry = retry or RetryPolicy()
        self._draining = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._submitting: set[asyncio.Future[None]] = set()  # sends whose outcome is not recorded yet

    # --- what callers use ------------------------------------------------------------------------
    async def answer(
        self,
        platform_id: str,
        language: Language,
        bodies: list[str],
        *,
        reply_to: int | None,
        wrote_at: dt.datetime | None,
    ) -> int:
        """Store a turn's replies and settle the message they answer (DeliveryLedger.answer, one transaction);
        `drain_soon` sends them. How many held messages the contact's writing released (they go first)."""
        messages = [Outgoing(language, body=body) for body in bodies]
        return await self._ledger.answer(platform_id, messages, reply_to=reply_to, wrote_at=wrote_at)

    async def send_text(
        self,
        platform_id: str,
        language: Language,
        text: str,
        options: tuple[Option, ...] = (),
        *,
        relay_id: int | None = None,
    ) -> LaterOutcome:
        """Send a text that is not a reply (a lawyer's answer, a case update), whenever it is.

        Within the window it goes out now ("sent"); outside it waits ("held") and the contact gets the
        approved template inviting them to reply; their next message releases it. Either way it is stored
        when this returns, and the outbox is drained in the background. The caller records the text in its
        own record; this records only the delivery (linked to `relay_id`, whose state then follows Twilio's).
        """
        messages = [Outgoing(language, body=body) for body in render_reply(Reply(text, options))]
        window = await self._ledger.window(platform_id)
        if window_open(window, utc_now()):
            await self._ledger.add(platform_id, messages, relay_id=relay_id)
            self.drain_soon(platform_id)
            return "sent"
        await self._ledger.add(platform_id, messages, held=True, relay_id=relay_id)
        if await self._invite(platform_id, language, window):
            self.drain_soon(platform_id)
        return "held"

    async def on_status(self, delivery_id: int | None, message_sid: str, status: str, error_code: int | None) -> None:
        change = await self._ledger.record_status(delivery_id, message_sid, status, error_code)
        if change is None and delivery_id is None and self._submitting:
            # Known by Twilio's id alone, which is stored once create() returned: Twilio may call back before
            # that. Once the sends in flight here are recorded, the delivery is found (or really unknown).
            await asyncio.wait(set(self._submitting), timeout=SUBMISSION_WAIT_SECONDS)
            change = await self._ledger.record_status(delivery_id, message_sid, status, error_code)
        if change is None:
            log.info("Status %r for an unknown WhatsApp message %s; ignored", status, message_sid)
            return
        delivery = change.delivery
        if delivery.recipient is None and delivery.status in FINAL_STATUSES:  # the goodbye to a deleted person
            self.erase_soon()
        if not change.changed or delivery.status not in FAILED_STATUSES:
            return
        log.warning("WhatsApp delivery %d %s (error %s)", delivery.id, delivery.status, delivery.error_code)
        if delivery.error_code == WINDOW_CLOSED and delivery.body and delivery.recipient:
            again = [Outgoing(delivery.language, body=delivery.body)]
            await self._ledger.add(delivery.recipient, again, held=True, relay_id=delivery.relay_id, resend_of=delivery)
            window = await self._ledger.window(delivery.recipient)
            if await self._invite(delivery.recipient, delivery.language, window):
                self.drain_soon(delivery.recipient)

    async def resume(self) -> None:
        """At start: send what a previous run stored but did not hand to Twilio."""
        for platform_id in await self._ledger.recipients_to_resume(utc_now() - self._lease):
            self.drain_soon(platform_id)
        self.erase_soon()

    async def resume_stranded(self) -> int:
        """While serving (now and then): send what a process that died left behind, not only at the next start.

        A process killed while handing a delivery to Twilio leaves it `submitting`; one killed after queuing
        replies leaves them `ready`. Once the claim's lease has run out (or they waited that long), no live sender
        holds them: they go now. Ready ones queued since are left to the drain that queued them. How many
        recipients were drained."""
        stale = utc_now() - self._lease
        recipients = await self._ledger.recipients_to_resume(stale, ready_before=stale)
        for platform_id in recipients:
            self.drain_soon(platform_id)
        if recipients:
            log.warning(
                "WhatsApp deliveries to %d recipient(s) were left by a stopped sender; sent now", len(recipients)
            )
        return len(recipients)

    # --- draining the outbox -----------------------------------------------------------------------
    def erase_soon(self) -> None:
        """Delete at Twilio, in the background, the messages of people who deleted their data."""
        self._spawn(self.erase())

    async def erase(self) -> None:
        async with self._draining.hold(ERASING):  # one pass at a time; a later call finds what is left
            for erasure_id, message_sid in await self._ledger.erasures():
                try:
                    await self._api.delete(message_sid)
                except DeliveryFailed as error:
                    if await self._ledger.erase_failed(erasure_id):
                        log.error("Gave up deleting a WhatsApp message at Twilio: %s", error)
                    continue
                await self._ledger.erased(erasure_id)

    def drain_soon(self, platform_id: str) -> None:
        """Send the recipient's ready deliveries in the background (the webhook has answered Twilio)."""
        self._spawn(self.drain(platform_id))

    async def drain(self, platform_id: str) -> None:
        async with self._draining.hold(platform_id):
            delivery = await self._ledger.claim_next(platform_id)
            while delivery is not None:
                delivery = await self._submit(platform_id, delivery)

    async def _submit(self, platform_id: str, delivery: Delivery) -> Delivery | None:
        """Send one claimed delivery and record the outcome; the recipient's next one, claimed."""
        crash_point("whatsapp_claimed")
        recorded = asyncio.get_running_loop().create_future()
        self._submitting.add(recorded)  # until Twilio's id is stored: a callback by that id alone waits for it
        try:
            try:
                accepted = await self._create(platform_id, delivery)
            except ClaimLost:
                log.warning(
                    "WhatsApp delivery %d was taken back while waiting to try again; left to its sender", delivery.id
                )
                return None
            except DeliveryFailed as error:
                if error.code == WINDOW_CLOSED and delivery.content_sid is None:
                    await self._ledger.hold(delivery.id)
                    await self._invite(platform_id, delivery.language, await self._ledger.window(platform_id))
                    # the invitation, if one was due, is the next ready delivery of this drain
                    return await self._ledger.claim_next(platform_id)
                log.error("WhatsApp delivery %d failed: %s (code %s)", delivery.id, error, error.code)
                await self._ledger.failed(delivery.id, error.code)
                return await self._ledger.claim_next(platform_id)
            return await self._ledger.submitted_then_next(
                delivery.id, accepted.message_sid, accepted.status, platform_id
            )
        finally:
            recorded.set_result(None)
            self._submitting.discard(recorded)

    async def _create(self, platform_id: str, delivery: Delivery) -> Accepted:
        """Hand a delivery to Twilio, retrying with backoff while Twilio says a retry can help."""
        callback = f"{self._status_url}?delivery={delivery.id}"  # ties early callbacks to this delivery

        def warn(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            log.warning(
                "WhatsApp delivery %d: %s (try %d), retry in %.1f s",
                delivery.id,
                error,
                state.attempt_number,
                state.upcoming_sleep,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            retry=retry_if_exception(lambda error: isinstance(error, DeliveryFailed) and error.retryable),
            wait=self._retry.wait,
            before_sleep=warn,
            reraise=True,  # the DeliveryFailed itself: its code decides between held and failed
        )
        tries = 0

        async def attempt() -> Accepted:
            nonlocal tries
            tries += 1
            # the claim holds for one lease: renewed before each retry, so a slow, retried send is not taken back
            if tries > 1 and not await self._ledger.renew(delivery):
                raise ClaimLost(delivery.id)
            return await self._api.create(
                address(platform_id),
                status_callback=callback,
                body=delivery.body,
                content_sid=delivery.content_sid,
                content_variables=delivery.content_variables,
            )

        return await retrying(attempt)

    async def _invite(self, platform_id: str, language: str, window: Window) -> bool:
        """Queue the approved template asking the contact to reply; False when there is nothing to send."""
        if invited_since_last_message(window):
            return False  # one invitation per silence is enough
        content_sid = self._templates.get(language) or next(iter(self._templates.values()), None)
        if content_sid is None:
            log.warning("No WhatsApp template configured (TWILIO_TEMPLATE_*): held texts wait for the contact")
            return False
        waiting = await self._ledger.held_count(platform_id)
        variables = json.dumps({"1": str(max(waiting, 1))})
        await self._ledger.add(platform_id, [Outgoing(language, content_sid=content_sid, content_variables=variables)])
        await self._ledger.note_invited(platform_id, utc_now())
        return True

    # --- background work -----------------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The deliveries stay `ready` or `submitting` in the ledger; the next drain or start sends them.
            log.error("Draining the WhatsApp outbox failed", exc_info=task.exception())

    async def settled(self) -> None:
        """Wait until no send runs in the background (a started send may start the next one)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Let running sends finish for a while; what is left stays in the outbox for the next start."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=CLOSE_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
