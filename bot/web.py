"""The HTTP server of `pana serve`: health, and the routes each channel installs (its webhooks)."""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

__all__ = ["HEALTH_KEY", "Health", "Routes", "create_web_app", "healthz"]

log = logging.getLogger(__name__)


class Health(Protocol):
    async def health(self) -> dict[str, str]:
        """Reachability of what Pana depends on: database, redis, nlu."""
        ...


class Routes(Protocol):
    def install(self, web_app: web.Application) -> None:
        """Add the channel's routes (webhooks) to the HTTP server."""
        ...


HEALTH_KEY = web.AppKey("health", Health)


async def healthz(request: web.Request) -> web.Response:
    report = await request.app[HEALTH_KEY].health()
    healthy = report["database"] == "ok" and report["redis"] in ("ok", "not configured")
    body = {"status": "ok" if healthy and report["nlu"] == "ok" else "degraded" if healthy else "down", **report}
    return web.json_response(body, status=200 if healthy else 503)


def create_web_app(health: Health, *channels: Routes) -> web.Application:
    """The aiohttp application: /healthz from `health` (the App), and every channel's routes."""
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app[HEALTH_KEY] = health
    web_app.router.add_get("/healthz", healthz)
    for channel in channels:
        channel.install(web_app)
    return web_app
