"""A local stand-in for Twilio's Messages API: checks auth, records messages, answers like Twilio, fails on demand."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import re
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SENDER = "whatsapp:+14155238886"
BODY_LIMIT = 1600
SID = re.compile(r"(SM|MM)[0-9a-f]{32}")


def inbound_message_form(sid: str, number: str, text: str, *, profile: str = "Test") -> dict[str, str]:
    """An inbound WhatsApp text as Twilio posts it to the webhook (`number` in E.164, "+7701...")."""
    return {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": profile,
        "MessageType": "text",
        "SmsSid": sid,
        "WaId": number.lstrip("+"),
        "SmsStatus": "received",
        "Body": text,
        "To": SENDER,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{number}",
        "ApiVersion": "2010-04-01",
    }


@dataclass
class FakeTwilioApi:
    """Run with `await api.start()`; point the twilio client at `api.base_url`."""

    attempts: list[dict[str, str]] = field(default_factory=list)  # every create request, failed or not
    messages: list[dict[str, str]] = field(default_factory=list)  # the ones Twilio accepted, with their Sid
    # (HTTP status, Twilio code, Retry-After seconds or None) for the next calls
    failures: list[tuple[int, int, int | None]] = field(default_factory=list)
    attempted_at: list[float] = field(default_factory=list)  # time.monotonic() of each create request
    deleted: list[str] = field(default_factory=list)  # SIDs deleted through the Messages API
    media_requests: int = 0
    # Where status callbacks land: Twilio calls the public URL; here it is swapped for the app's local address
    # (as a reverse proxy would), and the signature still covers the public URL.
    callback_route: tuple[str, str] | None = None
    # When set: a message is accepted (recorded) at once, but create() is answered only once the event is set,
    # as when Twilio calls back before its answer to create() arrives.
    answers_wait_for: asyncio.Event | None = None
    _server: TestServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def media_url(self, name: str) -> str:
        return f"{self.base_url}/media/{name}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create)
        app.router.add_delete("/2010-04-01/Accounts/{account}/Messages/{sid}.json", self._delete)
        app.router.add_get("/media/{name}", self._media)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def fail_next(self, status: int = 429, code: int = 20429, times: int = 1, retry_after: int | None = None) -> None:
        self.failures.extend([(status, code, retry_after)] * times)

    def to(self, recipient: str) -> list[dict[str, str]]:
        return [m for m in self.messages if m["To"] == recipient]

    async def wait_for(
        self, count: int = 1, *, recipient: str | None = None, timeout: float = 30
    ) -> list[dict[str, str]]:
        """The accepted messages (to one recipient), once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(recipient) if recipient else self.messages
            if len(found) >= count:
                await asyncio.sleep(0.1)  # let a sender that is still going show any extra message
                return self.to(recipient) if recipient else list(self.messages)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} message(s) created, expected {count}")

    def route_callbacks(self, public_url: str, local_url: str) -> None:
        self.callback_route = (public_url.rstrip("/"), local_url.rstrip("/"))

    async def report(self, sid: str, status: str, error_code: int | None = None) -> int:
        """Post a status callback for an accepted message as Twilio does: a form signed with the auth token,
        to the message's StatusCallback URL. Returns the HTTP status the app answered."""
        assert self.callback_route is not None, "route_callbacks() first"
        message = next(m for m in self.messages if m["Sid"] == sid)
        url = message["StatusCallback"]
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "ChannelPrefix": "whatsapp",
            "From": message["From"],
            "To": message["To"],
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        public, local = self.callback_route
        assert url.startswith(public), "the callback URL is built from PANA_PUBLIC_URL"
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            headers = {"X-Twilio-Signature": signature}
            async with session.post(local + url[len(public) :], data=form, headers=headers) as response:
                return response.status

    def _authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return request.match_info["account"] == ACCOUNT_SID and request.headers.get("Authorization") == expected

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.attempts.append(form)
        self.attempted_at.append(time.monotonic())
        if self.failures:
            status, code, retry_after = self.failures.pop(0)
            return _error(status, code, "Failure on demand", retry_after)
        if not form.get("To") or not form.get("From"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if "ContentSid" in form and "Body" in form:
            return _error(400, 21619, "A template message cannot carry a Body.")
        if "ContentSid" not in form and not form.get("Body"):
            return _error(400, 21602, "Message body is required.")
        if len(form.get("Body", "")) > BODY_LIMIT:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        sid = "SM" + uuid.uuid4().hex
        self.messages.append({**form, "Sid": sid})
        if self.answers_wait_for is not None:
            await self.answers_wait_for.wait()
        now = email.utils.formatdate(usegmt=True)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "to": form["To"],
                "from": form["From"],
                "body": form.get("Body", ""),
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": "0",
                "api_version": "2010-04-01",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
            status=201,
        )

    async def wait_for_deleted(self, sids: set[str], *, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not sids <= set(self.deleted):
            if time.monotonic() > deadline:
                raise AssertionError(f"not deleted at Twilio: {sorted(sids - set(self.deleted))}")
            await asyncio.sleep(0.05)

    async def _delete(self, request: web.Request) -> web.Response:
        """Twilio deletes a message it has (any SID of the right shape here) and answers 204 without a body."""
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        sid = request.match_info["sid"]
        if not SID.fullmatch(sid):
            return _error(404, 20404, "The requested resource was not found")
        self.deleted.append(sid)
        return web.Response(status=204)

    async def _media(self, request: web.Request) -> web.Response:
        self.media_requests += 1  # Pana must never download a user's media
        return web.Response(body=b"\x00", content_type="application/octet-stream")


def _error(status: int, code: int, message: str, retry_after: int | None = None) -> web.Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(body, status=status, headers=headers)
