"""The supervisor's pages: every case's state, reassigning, lawyers' load, and the audit log (with CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from aiohttp import web

from bot.console.context import CONSOLE_KEY, SESSION_KEY, Console
from bot.console.lawyer import case_id_of
from bot.console.views import record_view
from bot.core.numbers import parse_number
from bot.records.cases import CaseStatus
from bot.records.staff import StaffSession

AUDIT_ROWS = 500  # on the page; the CSV has up to AUDIT_EXPORT
AUDIT_EXPORT = 50_000


def overseer(request: web.Request) -> tuple[Console, StaffSession]:
    """The console and the session of a supervisor or admin; everyone else is refused here, on the server."""
    session: StaffSession = request[SESSION_KEY]
    if not session.staff.oversees:
        raise web.HTTPForbidden(text="Supervisors and admins only.")
    return request.app[CONSOLE_KEY], session


async def cases(request: web.Request) -> web.StreamResponse:
    console, _session = overseer(request)
    now = console.clock()
    await record_view(request, "viewed_cases")
    status_name = request.query.get("status", "open")
    status = CaseStatus(status_name) if status_name in {s.value for s in CaseStatus} else None
    overviews = await console.queries.cases(status)
    if status_name == "open":
        overviews = [o for o in overviews if o.case.status is not CaseStatus.CLOSED]
    return console.render(
        request,
        "cases.html",
        overviews=overviews,
        selected=status_name,
        load=await console.queries.load(now),
        overdue=dt.timedelta(hours=console.settings.overdue_hours),
        live=True,
    )


async def reassign(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    case_id = case_id_of(request)
    form = await request.post()
    lawyer_id = parse_number(str(form.get("lawyer", "")))
    done = "refused"
    if lawyer_id is not None and await console.queries.reassign(case_id, lawyer_id, session.staff, console.clock()):
        done = "reassigned"
        lawyer = await console.lawyers.get(lawyer_id)
        if lawyer is not None:
            await console.desk.handed_over(case_id, lawyer)
    raise web.HTTPSeeOther(f"/console/cases/{case_id}?done={done}")


def _audit_filters(request: web.Request) -> dict[str, int | str | None]:
    return {
        "lawyer_id": parse_number(request.query.get("lawyer", "")),
        "case_id": parse_number(request.query.get("case", "")),
        "action": request.query.get("action", "")[:32] or None,
    }


async def audit(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    await console.staff.audit(session.staff, "viewed_audit", console.clock())
    filters = _audit_filters(request)
    entries = await console.queries.audit(limit=AUDIT_ROWS, **filters)  # type: ignore[arg-type]
    return console.render(
        request,
        "audit.html",
        entries=entries,
        filters={key: request.query.get(key, "") for key in ("lawyer", "case", "action")},
        lawyers=await console.lawyers.all(),
        actions=await console.queries.actions(),
    )


async def audit_csv(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    await console.staff.audit(session.staff, "exported_audit", console.clock())
    entries = await console.queries.audit(limit=AUDIT_EXPORT, **_audit_filters(request))  # type: ignore[arg-type]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at_utc", "actor", "action", "case", "lawyer", "account", "about_account"])
    for entry in entries:
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(),
                entry.actor,
                entry.action,
                entry.case_id or "",
                _cell(entry.lawyer_name),
                _cell(entry.username),
                _cell(entry.subject),
            ]
        )
    return _csv_response(out.getvalue(), "pana-audit.csv")


def _cell(value: str | None) -> str:
    """A spreadsheet must not run a name as a formula."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_response(text: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
