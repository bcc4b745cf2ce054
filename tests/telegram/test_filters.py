"""No filter or handler of Pana's routers runs in a worker thread: aiogram hands every non-coroutine one to a thread."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aiogram import Bot, Router
from aiogram.dispatcher.event.handler import CallableObject

from bot.channels.telegram.factory import create_dispatcher
from bot.channels.telegram.isolation import local_isolation
from bot.storage.state import MemoryStateStore
from tests.telegram.fake_bot_api import TOKEN

pytestmark = pytest.mark.fast  # no Rasa, no database, no network


def _callables(router: Router) -> list[tuple[str, CallableObject]]:
    found: list[tuple[str, CallableObject]] = []
    for name, observer in router.observers.items():
        for handler in observer.handlers:
            where = f"{router.name}.{name}: {handler.callback.__name__}"
            found += [(where, handler), *((f"a filter of {where}", f) for f in handler.filters or [])]
    for sub_router in router.sub_routers:
        found += _callables(sub_router)
    return found


def test_every_filter_and_handler_is_awaited_on_the_loop() -> None:
    unused = cast(Any, None)  # services the routers only receive when an update comes
    dispatcher = create_dispatcher(
        conversation=unused,
        translator=unused,
        claims=MemoryStateStore(),
        isolation=local_isolation(),
        bot=Bot(TOKEN),
        topics=frozenset(),
        desk=unused,
    )
    found = _callables(dispatcher)
    assert len(found) > 10, "the routers' handlers and filters were found"
    threaded = [name for name, callable_object in found if not callable_object.awaitable]
    assert threaded == [], f"run by aiogram in a worker thread: {threaded}"
