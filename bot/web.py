"""The HTTP server of `pana serve`: /healthz, /readyz, and the routes each channel installs (its webhooks).

/healthz says how Pana is (database, Redis, NLU); the report is cached for a few seconds, so a monitor
polling it, or many load balancers, cost one check per interval, and a change of state is logged once
(not a traceback per call). /readyz is for load balancers: 503 until the channels have started, while
stopping, and while the database is unreachable; 200 otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

__all__ = ["HEALTH_KEY", "READY_KEY", "CachedHealth", "Health", "Readiness", "Routes", "create_web_app", "healthz"]

log = logging.getLogger(__name__)

HEALTH_CACHE_SECONDS = 5.0
CHECK_TIMEOUT_SECONDS = 3.0  # a hanging dependency is reported unreachable, not waited for


class Health(Protocol):
    async def health(self) -> dict[str, str]:
        """Reachability of what Pana depends on: database, redis, nlu ("ok" when fine)."""
        ...


class Routes(Protocol):
    def install(self, web_app: web.Application) -> None:
        """Add the channel's routes (webhooks) to the HTTP server."""
        ...


class CachedHealth:
    """One real check per interval, whatever the number of callers; one log line per change of state."""

    def __init__(
        self, source: Health, ttl_seconds: float = HEALTH_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._report: dict[str, str] | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def health(self) -> dict[str, str]:
        async with self._lock:  # callers arriving during a check wait for its result
            if self._report is None or self._clock() - self._checked_at >= self._ttl:
                self._note_change(await self._check())
                self._checked_at = self._clock()
            return dict(self._report or {})

    async def _check(self) -> dict[str, str]:
        try:
            return await asyncio.wait_for(self._source.health(), CHECK_TIMEOUT_SECONDS * 2)
        except TimeoutError:
            return {"database": "unreachable", "redis": "unknown", "nlu": "unknown"}

    def _note_change(self, report: dict[str, str]) -> None:
        if report != self._report:
            changed = ", ".join(f"{name} {state}" for name, state in sorted(report.items()))
            (log.info if all(v in ("ok", "not configured") for v in report.values()) else log.warning)(
                "Health: %s", changed
            )
        self._report = report


class Readiness:
    """Set by `pana serve` once the channels run, cleared when it starts stopping."""

    def __init__(self) -> None:
        self.ready = False


HEALTH_KEY = web.AppKey("health", CachedHealth)
READY_KEY = web.AppKey("ready", Readiness)


def _database_ok(report: dict[str, str]) -> bool:
    return report.get("database") == "ok"


async def healthz(request: web.Request) -> web.Response:
    report = await request.app[HEALTH_KEY].health()
    healthy = _database_ok(report)  # without Redis or the NLU Pana still answers (fallback, menus)
    whole = all(report.get(name) in ("ok", "not configured") for name in ("database", "redis", "nlu"))
    body = {"status": "ok" if whole else "degraded" if healthy else "down", **report}
    return web.json_response(body, status=200 if healthy else 503)


async def readyz(request: web.Request) -> web.Response:
    if not request.app[READY_KEY].ready:
        return web.json_response({"ready": False, "reason": "starting or stopping"}, status=503)
    if not _database_ok(await request.app[HEALTH_KEY].health()):
        return web.json_response({"ready": False, "reason": "database unreachable"}, status=503)
    return web.json_response({"ready": True})


def create_web_app(health: Health, *channels: Routes, readiness: Readiness | None = None) -> web.Application:
    """The aiohttp application: /healthz and /readyz from `health` (the App), and every channel's routes.

    Without a `readiness` (tests, `pana chat`) the app counts as ready at once.
    """
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[HEALTH_KEY] = health if isinstance(health, CachedHealth) else CachedHealth(health)
    if readiness is None:
        readiness = Readiness()
        readiness.ready = True
    web_app[READY_KEY] = readiness
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    for channel in channels:
        channel.install(web_app)
    return web_app
