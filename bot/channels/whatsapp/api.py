"""Twilio's Messages API through the official client, asynchronously; its failures as DeliveryFailed."""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import logging
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.errors import DeliveryFailed

REQUEST_TIMEOUT_SECONDS = 15.0
DELTA_SECONDS = re.compile(r"[0-9]{1,9}")
# The twilio client drops a failed response's headers when it raises: the last Retry-After seen by this task.
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar("twilio_retry_after", default=None)


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


class _RetryAfterKeepingClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Notes the Retry-After of a 429 or 503 for the task that made the request (see `_retry_after`)."""

    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = await super().request(*args, **kwargs)
        if response.status_code in (429, 503):
            header = response.headers.get("Retry-After") if response.headers is not None else None
            _retry_after.set(retry_after_seconds(header, dt.datetime.now(dt.UTC)))
        return response


def _retryable(status: int) -> bool:
    """Twilio says to retry rate limits and its own errors; any other 4xx will fail the same way again."""
    return status == 429 or status >= 500


class TwilioMessages:
    """Creates WhatsApp messages; never blocks the event loop (aiohttp under the twilio client)."""

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, api_base: str) -> None:
        sdk_log = logging.getLogger(f"{__name__}.sdk")
        sdk_log.setLevel(logging.WARNING)  # the SDK logs every request at INFO; ours say what matters
        self._http = _RetryAfterKeepingClient(timeout=REQUEST_TIMEOUT_SECONDS, logger=sdk_log)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._client.api.base_url = api_base.rstrip("/")  # a local stand-in in tests
        self._sender = sender

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
        params: dict[str, Any] = {"to": to, "from_": self._sender, "status_callback": status_callback}
        if content_sid:
            params["content_sid"] = content_sid
            if content_variables:
                params["content_variables"] = content_variables
        else:
            params["body"] = body or ""
        _retry_after.set(None)
        try:
            created = await self._client.messages.create_async(**params)
        except TwilioRestException as error:  # its message may quote the number: keep only status and code
            code = error.code if isinstance(error.code, int) else None
            reason = f"Twilio answered {error.status}"
            raise DeliveryFailed(
                reason, retryable=_retryable(error.status), code=code, retry_after=_retry_after.get()
            ) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryFailed(f"Twilio unreachable ({type(error).__name__})", retryable=True) from None
        return Accepted(str(created.sid), str(created.status or "queued"))

    async def delete(self, message_sid: str) -> None:
        """Delete a message and its record at Twilio; one Twilio no longer has counts as deleted."""
        try:
            await self._client.messages(message_sid).delete_async()
        except TwilioRestException as error:
            if error.status == 404:
                return
            code = error.code if isinstance(error.code, int) else None
            raise DeliveryFailed(
                f"Twilio answered {error.status}", retryable=_retryable(error.status), code=code
            ) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryFailed(f"Twilio unreachable ({type(error).__name__})", retryable=True) from None

    async def close(self) -> None:
        await self._http.close()
