"""The console's routes, mounted under /console/ in `pana serve` (a sub-application with its own middlewares)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.console import admin, auth, content, lawyer, password, reports, supervisor
from bot.console.context import CONSOLE_KEY, Console
from bot.console.events import events
from bot.console.security import security_headers

STATIC = Path(__file__).resolve().parent / "static"


class ConsoleRoutes:
    """`Routes` for bot/web.py: installs the console into the HTTP server."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def install(self, web_app: web.Application) -> None:
        web_app.add_subapp("/console/", self.application())

    def application(self) -> web.Application:
        app = web.Application(middlewares=[security_headers, auth.require_session], client_max_size=64 * 1024)
        app[CONSOLE_KEY] = self.console
        app.on_shutdown.append(self._stop_streams)
        router = app.router
        router.add_get("/", lawyer.home)
        router.add_get("/login", auth.login_page)
        router.add_post("/login", auth.login)
        router.add_get("/code", auth.code_page)
        router.add_post("/code", auth.confirm_code)
        router.add_post("/logout", auth.logout)
        router.add_post("/logout-everywhere", auth.logout_everywhere)
        router.add_post("/language", auth.choose_language)
        router.add_get("/password", password.password_page)
        router.add_post("/password", password.change_password)
        router.add_get("/queue", lawyer.queue)
        router.add_get("/cases", supervisor.cases)
        router.add_get(r"/cases/{case}", lawyer.case_page)
        for act in ("take", "release", "close", "reply", "note"):
            router.add_post(f"/cases/{{case}}/{act}", getattr(lawyer, act))
        router.add_post(r"/cases/{case}/reassign", supervisor.reassign)
        router.add_get("/audit", supervisor.audit)
        router.add_get("/audit.csv", supervisor.audit_csv)
        router.add_get("/content", content.content)
        router.add_post("/content/{topic}/sign-off", content.sign_off_topic)
        router.add_get("/accounts", admin.accounts)
        router.add_post("/accounts", admin.add)
        router.add_get("/accounts/{account}", admin.account)
        router.add_post("/accounts/{account}/{action}", admin.act)
        router.add_get("/reports", reports.reports)
        router.add_get("/reports.csv", reports.reports_csv)
        router.add_get("/events", events)
        router.add_static("/static/", STATIC, follow_symlinks=False, append_version=False)
        return app

    async def _stop_streams(self, _app: web.Application) -> None:
        self.console.stopping.set()
