"""Twilio's Messages API over aiohttp: create and delete a message; its failures as DeliveryFailed.

Two REST calls do not need twilio's REST client: it loads ~130 modules and a second HTTP stack (requests,
urllib3) at import and its `api.v2010` domain on first use, ~12 MB per worker (docs/performance.md), and it
dropped a failed response's headers (Retry-After) when it raised. The request is the one it sent: a form
with HTTP basic auth (account SID, auth token) to /2010-04-01/Accounts/{sid}/Messages.json.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.errors import DeliveryFailed

API_VERSION = "2010-04-01"
REQUEST_TIMEOUT_SECONDS = 15.0
DELTA_SECONDS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Accepted:
    message_sid: str
    status: str


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP date) as seconds from now; None when absent or malformed."""
    if not value:
        return None
    value = value.strip()
    if DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None  # not an HTTP date (those are always GMT)
    return max((when - now).total_seconds(), 0.0)


def _retryable(status: int) -> bool:
    """Twilio says to retry rate limits and its own errors; any other 4xx will fail the same way again."""
    return status == 429 or status >= 500


class TwilioMessages:
    """Creates and deletes WhatsApp messages at Twilio; never blocks the event loop."""

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, api_base: str) -> None:
        self._messages_url = f"{api_base.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages"
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        self._sender = sender
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        """One session, made on first use (inside the running loop), again after a close."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                auth=self._auth,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
                headers={"Accept": "application/json"},
            )
        return self._http

    async def create(
        self,
        to: str,
        *,
        status_callback: str,
        body: str | None = None,
        content_sid: str | None = None,
        content_variables: str | None = None,
    ) -> Accepted:
        """Hand one message to Twilio: free-form `body`, or a template (`content_sid`, never with a body)."""
        form = {"To": to, "From": self._sender, "StatusCallback": status_callback}
        if content_sid:
            form["ContentSid"] = content_sid
            if content_variables:
                form["ContentVariables"] = content_variables
        else:
            form["Body"] = body or ""
        try:
            async with self._session().post(f"{self._messages_url}.json", data=form) as response:
                answer = await _answer(response)
                if response.status >= 400:
                    raise _refused(response, answer)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryFailed(f"Twilio unreachable ({type(error).__name__})", retryable=True) from None
        sid = answer.get("sid")
        if not isinstance(sid, str) or not sid:  # accepted, but unreadable: sending again could send it twice
            raise DeliveryFailed(f"Twilio answered {response.status} without a message sid", retryable=False)
        return Accepted(sid, str(answer.get("status") or "queued"))

    async def delete(self, message_sid: str) -> None:
        """Delete a message and its record at Twilio; one Twilio no longer has counts as deleted."""
        try:
            async with self._session().delete(f"{self._messages_url}/{message_sid}.json") as response:
                answer = await _answer(response)
                if response.status >= 400 and response.status != 404:
                    raise _refused(response, answer, keep_retry_after=False)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryFailed(f"Twilio unreachable ({type(error).__name__})", retryable=True) from None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


async def _answer(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """Twilio's JSON answer; {} when there is none (a 204, or a proxy's HTML error page)."""
    try:
        answer = await response.json(content_type=None)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _refused(
    response: aiohttp.ClientResponse, answer: dict[str, Any], *, keep_retry_after: bool = True
) -> DeliveryFailed:
    """Twilio's error as DeliveryFailed: status and code only (its message may quote the number)."""
    code = answer.get("code") if isinstance(answer.get("code"), int) else None
    retry_after = None
    if keep_retry_after and response.status in (429, 503):
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), dt.datetime.now(dt.UTC))
    return DeliveryFailed(
        f"Twilio answered {response.status}", retryable=_retryable(response.status), code=code, retry_after=retry_after
    )
