"""Live updates by server-sent events: the page is told when something on the case record changed.

It polls the record (one small query every PANA_CONSOLE_POLL_SECONDS per open page) rather than
listening in-process, so changes made by any process on the same database (`pana serve`, `pana chat`,
the CLI) reach it. The session is checked on every tick: a disabled account's page is signed out at once.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from bot.console.context import CONSOLE_KEY
from bot.console.security import SESSION_COOKIE, token_hash

KEEPALIVE_TICKS = 15  # a comment line now and then keeps proxies from closing a quiet stream


async def events(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    token = token_hash(request.cookies.get(SESSION_COOKIE, ""))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    stamp = await console.queries.stamp()
    await response.write(b"retry: 3000\n\n")
    # Bounded by the session's own lifetime: the loop ends when the session does, at the latest.
    ticks = int(console.lifetime.total_seconds() / console.settings.poll_seconds) + 1
    for tick in range(ticks):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(console.stopping.wait(), timeout=console.settings.poll_seconds)
        if console.stopping.is_set():
            break
        session = await console.sessions.current(token, console.clock(), touch=False)
        try:
            if session is None:
                await response.write(b"event: logout\ndata: -\n\n")
                break
            now_stamp = await console.queries.stamp()
            if now_stamp != stamp:
                stamp = now_stamp
                await response.write(b"event: change\ndata: -\n\n")
            elif tick % KEEPALIVE_TICKS == 0:
                await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, RuntimeError):  # the page was closed
            break
    return response
