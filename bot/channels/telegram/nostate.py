"""aiogram's FSM storage for a bot that keeps no FSM state: nothing is remembered about any chat.

The core keeps the dialogue state (bot/core); aiogram's FSM is not used, but its middleware still asks
the storage for every update's state. aiogram's `MemoryStorage` answers from a defaultdict, so that question
alone left a record for every chat that ever wrote, for the life of the worker: memory that grew with the
number of people (and their chat ids held in memory). This storage answers "no state" and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey

__all__ = ["NoStateStorage"]

NOT_USED = "aiogram's FSM is not used: the dialogue state is the core's (bot/core)"


class NoStateStorage(BaseStorage):
    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        raise NotImplementedError(NOT_USED)  # a handler that starts using the FSM fails its tests, not users

    async def get_state(self, key: StorageKey) -> str | None:
        return None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        raise NotImplementedError(NOT_USED)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        return None
