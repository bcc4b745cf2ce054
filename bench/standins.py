"""The tests' Bot API and Twilio stand-ins, with what the harness needs on top: each person's replies, by arrival.

Subclasses, not copies: the stand-ins stay the ones the test suite checks Pana against.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.telegram.fake_bot_api import FakeBotApi
from tests.whatsapp.fake_twilio_api import FakeTwilioApi


@dataclass
class BenchBotApi(FakeBotApi):
    """The Bot API stand-in, with every sendMessage indexed by chat id."""

    by_chat: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        # The stand-in appends the call and answers without awaiting in between, so the last call is this one.
        call = self.calls[-1] if self.calls else None
        if call is not None and call.method == "sendMessage" and response.status == 200:
            self.by_chat[str(call.params.get("chat_id"))].append(call.params)
        return response


@dataclass
class Arrival:
    at: float  # time.monotonic() when the stand-in accepted the message
    body: str


@dataclass
class BenchTwilioApi(FakeTwilioApi):
    """The Twilio stand-in, telling waiters the moment a message to their number is accepted."""

    by_recipient: dict[str, list[Arrival]] = field(default_factory=lambda: defaultdict(list))
    _arrived: dict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))

    async def _create(self, request: web.Request) -> web.Response:
        response = await super()._create(request)
        if response.status == 201 and self.messages:
            accepted = self.messages[-1]  # appended just before answering, with no await in between
            recipient = accepted["To"]
            self.by_recipient[recipient].append(Arrival(time.monotonic(), accepted.get("Body", "")))
            self._arrived[recipient].set()
        return response

    async def wait_beyond(self, recipient: str, seen: int, limit: float) -> Arrival | None:
        """The first message to `recipient` after the `seen` ones already there, or None after `limit`."""
        deadline = time.monotonic() + limit
        while len(self.by_recipient[recipient]) <= seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            event = self._arrived[recipient]
            event.clear()
            if len(self.by_recipient[recipient]) > seen:
                break
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return None
        return self.by_recipient[recipient][seen]

    async def settle(self, recipient: str, *, quiet: float = 0.15, limit: float = 5.0) -> list[Arrival]:
        """Every message to `recipient` once none has come for `quiet` seconds (at most `limit`)."""
        deadline = time.monotonic() + limit
        count = -1
        while count != len(self.by_recipient[recipient]) and time.monotonic() < deadline:
            count = len(self.by_recipient[recipient])
            await asyncio.sleep(quiet)
        return list(self.by_recipient[recipient])
