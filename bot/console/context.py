"""What every console handler needs, built once by the composition root and kept on the aiohttp app."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from bot.clock import Clock
from bot.console.accounts import AccountAdmin, tell_people
from bot.console.security import AddressLimiter
from bot.console.sessions import ConsoleSessions
from bot.content.catalog import ContentCatalog
from bot.handoff.desk import LawyerDesk
from bot.handoff.notices import CITY_NAMES
from bot.handoff.outbox import Outbox
from bot.handoff.ports import CaseStore, LawyerStore
from bot.i18n import N_, Translations, bound
from bot.languages import LANGUAGES, Language
from bot.records.staff import StaffSession
from bot.settings import ConsoleSettings
from bot.storage.console import SqlConsoleQueries
from bot.storage.reports import SqlReportSource
from bot.storage.signoffs import SqlSignOffStore
from bot.storage.staff import SqlStaffStore

LANGUAGE_NAMES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass
class Console:
    settings: ConsoleSettings
    secure_cookies: bool  # PANA_PUBLIC_URL is https
    staff: SqlStaffStore
    queries: SqlConsoleQueries
    reports: SqlReportSource
    cases: CaseStore
    lawyers: LawyerStore
    desk: LawyerDesk
    catalog: ContentCatalog
    translations: Translations
    answer_threshold: float
    clock: Clock
    limiter: AddressLimiter
    sessions: ConsoleSessions  # in the database, or in Redis when REDIS_URL is set
    signoffs: SqlSignOffStore  # content sign-offs made on the web (the web never writes to content/)
    outbox: Outbox  # notices to people whose lawyer left the desk (an admin disabled or moved them)
    timezone: str = "Asia/Almaty"  # times on the pages are the lawyers' local time (LAWYER_TIMEZONE)
    templates: jinja2.Environment = field(default_factory=_environment)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # set at shutdown: live streams end

    @property
    def accounts(self) -> AccountAdmin:
        """The same account management as `pana staff`, for the admin's pages."""

        async def tell(case_ids: list[int]) -> None:
            await tell_people(self.cases, self.outbox, self.translations, case_ids)

        return AccountAdmin(self.staff, tell)

    def topic_title(self, topic: str, language: Language) -> str:
        """The topic's short title from content/menu.yml; its id when it has none (or is not a topic)."""
        title = self.catalog.menu.titles.get(topic)
        return title.get(language) if title else topic

    @property
    def idle(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.idle_minutes)

    @property
    def lifetime(self) -> dt.timedelta:
        return dt.timedelta(hours=self.settings.session_hours)

    def render(
        self,
        request: web.Request,
        template: str,
        status: int = 200,
        *,
        language: Language | None = None,
        **context: Any,
    ) -> web.Response:
        language = language or page_language(request)
        _ = bound(self.translations, language)
        session: StaffSession | None = request.get(SESSION_KEY)
        now = self.clock()
        zone = ZoneInfo(self.timezone)

        def waited(moment: dt.datetime) -> str:
            """How long ago, as staff read it at a glance: "3 h 05 min", "2 d 4 h"."""
            minutes = max(int((now - moment).total_seconds() // 60), 0)
            days, hours = divmod(minutes // 60, 24)
            if days:
                return _("{days} d {hours} h").format(days=days, hours=hours)
            if hours:
                return _("{hours} h {minutes} min").format(hours=hours, minutes=f"{minutes % 60:02d}")
            return _("{minutes} min").format(minutes=minutes)

        def topic_title(topic: str | None) -> str:
            """A topic as staff read it, "Applying for asylum", in the page's language (content/menu.yml)."""
            return self.topic_title(topic, language) if topic else ""

        def when(moment: dt.datetime | None) -> str:
            return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

        def city_name(code: str | None) -> str:
            return _(CITY_NAMES[code]) if code in CITY_NAMES else _("not given")

        body = self.templates.get_template(template).render(
            _=_,
            waited=waited,
            when=when,
            topic_title=topic_title,
            city_name=city_name,
            language=language,
            languages=LANGUAGE_NAMES,
            session=session,
            me=session.staff if session and not session.awaiting_code else None,  # no menu before the code
            csrf=session.csrf if session else "",
            path=request.path,
            now=now,
            **context,
        )
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


CONSOLE_KEY = web.AppKey("console", Console)
SESSION_KEY = web.RequestKey("session", StaffSession)  # set by the session middleware on every signed-in request


def page_language(request: web.Request) -> Language:
    """The signed-in person's choice; before login, the cookie they chose, else their browser's first match."""
    session: StaffSession | None = request.get(SESSION_KEY)
    if session is not None:
        return session.staff.ui_language
    chosen = request.cookies.get("pana_console_lang", "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "ru"


# Shown through `_(value)` in the templates: marked here so Babel extracts them.
ROLE_AND_STATE_NAMES = (N_("lawyer"), N_("supervisor"), N_("admin"), N_("waiting"), N_("assigned"), N_("closed"))
