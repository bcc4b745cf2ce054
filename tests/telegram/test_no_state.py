"""A worker keeps nothing per chat in aiogram's FSM storage: its memory does not grow with the people who wrote."""

from __future__ import annotations

from collections.abc import Sized

from aiogram.fsm.storage.base import BaseStorage

from tests.telegram.conftest import TelegramStack
from tests.telegram.fake_bot_api import private_message


def _held(storage: BaseStorage) -> int:
    """Entries in the storage's containers (aiogram's MemoryStorage: one per chat that ever wrote, forever)."""
    return sum(len(value) for value in vars(storage).values() if isinstance(value, Sized))


async def test_the_dispatcher_remembers_nothing_about_the_people_who_wrote(stack: TelegramStack) -> None:
    storage = stack.telegram.dispatcher.fsm.storage
    for person in range(3):
        text = "Как получить статус беженца?"
        response = await stack.post(private_message(100 + person, text, chat_id=9000 + person))
        assert response.status == 200
    assert len(await stack.api.wait_for("sendMessage", count=3)) >= 3  # all three were answered
    assert _held(storage) == 0
