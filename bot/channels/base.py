"""The channel contract: what Telegram, WhatsApp and the terminal each offer to `pana serve` and `pana chat`.

A channel translates between a platform and the core: it turns platform updates into `IncomingMessage`s
for a `Dialogue` (bot/core/ports.py), sends the `Turn`'s replies when `turn.outcome` says so, and confirms
them with `Dialogue.delivered`. The registry (bot/registry.py) builds the enabled channels from settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.core.messages import IncomingMessage
from bot.handoff.ports import UserSender

__all__ = ["Channel"]


@runtime_checkable
class Channel(Protocol):
    @property
    def name(self) -> str:
        """The channel's name in the record (`ContactRecord.channel`) and in the handoff's outbox."""
        ...

    @property
    def sender(self) -> UserSender | None:
        """How the lawyer handoff reaches this channel's users outside a reply; None if it cannot."""
        ...

    @property
    def replay(self) -> Callable[[IncomingMessage], Awaitable[None]] | None:
        """Answer a message stored before but never answered (the recovery sweep); None: nothing to recover."""
        ...

    def install(self, web_app: web.Application) -> None:
        """Add the channel's routes (webhooks) to the HTTP server; a channel without webhooks adds none."""
        ...

    async def start(self) -> None:
        """Begin taking messages once the HTTP server listens (register a webhook, start polling)."""
        ...

    async def stop(self) -> None:
        """Stop taking messages; what the channel opened is closed by the app's resources."""
        ...
