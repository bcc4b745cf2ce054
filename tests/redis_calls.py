"""Count what this process asks of Redis (commands, round trips) and the asyncio tasks it starts, while counting.

Wraps redis-py's connection at the socket: a round trip is one write of packed commands (a pipeline's or a
script's commands go in one); a command is one packed command. A health-check PING or a connection's hello would
show up as commands too, so nothing redis-py adds hides from the count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection


@dataclass
class Counted:
    commands: list[str] = field(default_factory=list)  # names, in the order sent ("SET", "EVALSHA", ...)
    round_trips: int = 0
    tasks: list[str] = field(default_factory=list)  # the coroutines' module.qualname

    def clear(self) -> None:
        self.commands.clear()
        self.round_trips = 0
        self.tasks.clear()


@contextmanager
def counting_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    """Every Redis command and round trip of this process, and every task its loop creates, into one `Counted`."""
    counted = Counted()
    pack_command = AbstractConnection.pack_command
    send_packed_command = AbstractConnection.send_packed_command

    def pack(self: AbstractConnection, *args: Any) -> list[bytes]:
        name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        counted.commands.append(name.upper())
        return pack_command(self, *args)

    async def send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counted.round_trips += 1
        await send_packed_command(self, command, check_health)

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        frame = getattr(coro, "cr_frame", None)
        module = frame.f_globals.get("__name__", "?") if frame is not None else "?"
        counted.tasks.append(f"{module}.{getattr(coro, '__qualname__', type(coro).__name__)}")
        return asyncio.Task(coro, loop=loop, **kwargs)

    monkeypatch.setattr(AbstractConnection, "pack_command", pack)
    monkeypatch.setattr(AbstractConnection, "send_packed_command", send)
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    loop.set_task_factory(factory)  # type: ignore[arg-type]  # typeshed's factory protocol is narrower
    try:
        yield counted
    finally:
        loop.set_task_factory(previous)
