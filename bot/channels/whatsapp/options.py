"""The numbered options a WhatsApp user last saw, kept in the shared state store so every process agrees."""

from __future__ import annotations

from bot.core.messages import Option
from bot.core.ports import StateStore


class OptionMemory:
    def __init__(self, state: StateStore, *, ttl_seconds: int) -> None:
        self._state = state
        self._ttl = ttl_seconds

    @staticmethod
    def _key(platform_id: str) -> str:
        return f"whatsapp-options:{platform_id}"  # apart from the core's "whatsapp:{id}" dialogue state

    async def recall(self, platform_id: str) -> tuple[Option, ...]:
        stored = await self._state.get(self._key(platform_id)) or {}
        pairs = stored.get("options", [])
        return tuple(Option(str(label), str(payload)) for label, payload in pairs)

    async def remember(self, platform_id: str, options: tuple[Option, ...]) -> None:
        if not options:
            await self.forget(platform_id)
            return
        pairs = [[option.label, option.payload] for option in options]
        await self._state.set(self._key(platform_id), {"options": pairs}, self._ttl)

    async def forget(self, platform_id: str) -> None:
        await self._state.delete(self._key(platform_id))
