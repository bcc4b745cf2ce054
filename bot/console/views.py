"""Views go to the audit log once per look: a live page refreshing itself is not a new view every time."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot.console.context import CONSOLE_KEY, SESSION_KEY

LIVE_HEADER = "X-Live"  # sent by console.js when it fetches the open page again after a change
# An open page is recorded again after this long, so the trail still shows that someone kept looking.
LIVE_VIEW_REPEAT = dt.timedelta(minutes=10)


async def record_view(request: web.Request, action: str, case_id: int | None = None) -> None:
    """A page opened is always recorded; its live refreshes only when the same view is not recent.

    A client could send the header on a real page load, but then that load is still recorded unless the
    same account viewed the same thing within the last few minutes: nothing unseen goes unrecorded.
    """
    console = request.app[CONSOLE_KEY]
    live = request.headers.get(LIVE_HEADER) == "1"
    await console.staff.audit(
        request[SESSION_KEY].staff,
        action,
        console.clock(),
        case_id=case_id,
        unless_within=LIVE_VIEW_REPEAT if live else None,
    )
