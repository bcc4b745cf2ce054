"""Twilio's webhooks on `pana serve`: inbound messages and delivery statuses, both signature-checked.

Persist first, then acknowledge: the inbound message is handled inline (the core records it, decides the
replies, and they are written to the outbox) before Twilio gets its empty TwiML 200. That stays well within
Twilio's 15-second timeout, since the slowest step, the NLU call, gives up after RASA_TIMEOUT (3 s) and the
core then answers with the menu. Sending, where Twilio's rate limits and retries can take long, happens after
the acknowledgement from the outbox; a crash then loses nothing, because the next start sends what is left.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import MultiDictProxy
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.convert import parse_inbound, parse_status
from bot.channels.whatsapp.sender import WhatsAppSender
from bot.errors import InFlight
from bot.faults import crash_point

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
STATUS_PATH = "/whatsapp/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twiml_messages(bodies: tuple[str, ...]) -> str:
    """TwiML that makes Twilio send these messages in reply, in order (the text XML-escaped)."""
    messages = "".join(f"<Message>{escape(body)}</Message>" for body in bodies)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{messages}</Response>'


class WhatsAppWebhook:
    def __init__(
        self,
        channel: WhatsAppChannel,
        sender: WhatsAppSender,
        *,
        auth_token: str,
        public_url: str,
        connection_overrides: str = "",
    ) -> None:
        self._channel = channel
        self._sender = sender
        self._validator = RequestValidator(auth_token)
        self._public_url = public_url.rstrip("/")
        self._fragment = f"#{connection_overrides}" if connection_overrides else ""

    @property
    def url(self) -> str:
        """The URL to give Twilio for incoming messages, with the connection overrides that make it retry."""
        return self._public_url + WEBHOOK_PATH + self._fragment

    def install(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.inbound)
        app.router.add_post(STATUS_PATH, self.status)

    async def _signed_form(self, request: web.Request) -> MultiDictProxy[str | object]:
        """The form Twilio signed; 400 when it is not a form, 403 when the signature does not match.

        The signature covers the URL Twilio called, so it is rebuilt from PANA_PUBLIC_URL (a proxy in front
        changes scheme, host and port) plus the path and query as received, and every parameter sent.
        """
        if request.content_type != FORM_TYPE:
            raise web.HTTPBadRequest(text="Expected a form")
        try:
            form = await request.post()
        except ValueError:  # undecodable bytes
            raise web.HTTPBadRequest(text="Malformed form") from None
        if any(not isinstance(value, str) for value in form.values()):
            raise web.HTTPBadRequest(text="Malformed form")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        # A fragment never reaches the server; the URL configured in Twilio may carry one (the overrides),
        # so the signature is accepted over the URL as called and over the URL as configured.
        called = self._public_url + request.raw_path
        candidates = (called, called + self._fragment) if self._fragment else (called,)
        if not signature or not any(self._validator.validate(url, form, signature) for url in candidates):
            log.warning("Refused a WhatsApp request to %s without a valid Twilio signature", request.path)
            raise web.HTTPForbidden(text="Invalid signature")
        return form  # type: ignore[return-value]

    async def inbound(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        try:
            message = parse_inbound(form)
        except ValueError as error:
            log.warning("Rejected a malformed WhatsApp message: %s", error)
            return web.Response(status=400, text="Malformed message")
        crash_point("whatsapp_accepted")
        try:
            receipt = await self._channel.receive(message)
        except InFlight:  # Twilio retries a 5xx when the webhook URL asks it to (README: connection overrides)
            # It, or the same person's previous message, is being handled now (never the error's text: no number)
            log.info("WhatsApp message %s must wait for one in progress; asked for a retry", message.message_sid)
            return web.Response(status=503, text="In flight, try again")
        except Exception:
            log.exception("Handling WhatsApp message %s failed; Twilio will deliver it again", message.message_sid)
            return web.Response(status=500, text="Try again")
        if receipt.direct:  # the record is down: Twilio sends these replies from the answer itself
            return web.Response(text=twiml_messages(receipt.direct), content_type="text/xml")
        self._sender.drain_soon(message.platform_id)  # also after a redelivery: sends whatever is still ready
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def status(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        try:
            report = parse_status(form, request.query)
        except ValueError as error:
            log.warning("Rejected a malformed WhatsApp status callback: %s", error)
            return web.Response(status=400, text="Malformed status")
        try:
            await self._sender.on_status(report.delivery_id, report.message_sid, report.status, report.error_code)
        except Exception:
            log.exception("Recording the status of %s failed; Twilio will call again", report.message_sid)
            return web.Response(status=500, text="Try again")
        return web.Response(status=204)
