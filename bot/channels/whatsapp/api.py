"""Twilio's Messages API through the official client, asynchronously; its failures as DeliveryFailed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.errors import DeliveryFailed

REQUEST_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Accepted:
    message_sid: str
    status: str


def _retryable(status: int) -> bool:
    """Twilio says to retry rate limits and its own errors; any other 4xx will fail the same way again."""
    return status == 429 or status >= 500


class TwilioMessages:
    """Creates WhatsApp messages; never blocks the event loop (aiohttp under the twilio client)."""

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, api_base: str) -> None:
        sdk_log = logging.getLogger(f"{__name__}.sdk")
        sdk_log.setLevel(logging.WARNING)  # the SDK logs every request at INFO; ours say what matters
        self._http = AsyncTwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS, logger=sdk_log)
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
        try:
            created = await self._client.messages.create_async(**params)
        except TwilioRestException as error:  # its message may quote the number: keep only status and code
            code = error.code if isinstance(error.code, int) else None
            reason = f"Twilio answered {error.status}"
            raise DeliveryFailed(reason, retryable=_retryable(error.status), code=code) from None
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
