"""The lawyer's pages: the queue and the case, and what they do on a case (take, reply, note, release, close).

Authorisation is checked here for every case and every act, on the server: only the lawyer holding a
case sees the person's words or acts on it; a supervisor sees its state only.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot.console.context import CONSOLE_KEY, SESSION_KEY, Console
from bot.console.views import record_view
from bot.core.numbers import parse_number
from bot.handoff.desk import TakeResult
from bot.i18n import N_
from bot.records.cases import CITIES, CaseRecord, CaseStatus, LawyerRecord
from bot.records.staff import Role, StaffSession

MAX_REPLY = 4000
WHATSAPP_WINDOW = dt.timedelta(hours=24)  # WhatsApp allows free-form messages this long after the person wrote
MAX_OUTCOME = 500
DONE = {  # what the page says after an act (the key travels in the URL: no personal data)
    "taken": N_("The case is yours. The person was told."),
    "taken_by_other": N_("Another lawyer took this case first."),
    "gone": N_("This case does not exist or is closed."),
    "released": N_("The case is back in the queue. The person was told."),
    "closed": N_("The case is closed. The person was asked for a rating."),
    "sent": N_("Sent to the person."),
    "queued": N_("Saved; Pana keeps trying to deliver it."),
    "noted": N_("Note added. Only lawyers see it."),
    "reassigned": N_("The case was reassigned."),
    "refused": N_("That did not work: the case changed meanwhile."),
}


def _session(request: web.Request) -> StaffSession:
    session: StaffSession = request[SESSION_KEY]
    return session


async def active_lawyer(console: Console, session: StaffSession) -> LawyerRecord | None:
    if session.staff.role is not Role.LAWYER or session.staff.lawyer_id is None:
        return None
    lawyer = await console.lawyers.get(session.staff.lawyer_id)
    return lawyer if lawyer is not None and lawyer.active else None


def case_id_of(request: web.Request) -> int:
    number = parse_number(request.match_info.get("case", ""))
    if number is None:
        raise web.HTTPNotFound()
    return number


async def home(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    raise web.HTTPSeeOther("/console/cases" if session.staff.oversees else "/console/queue")


def _matches(case: CaseRecord, filters: dict[str, str], now: dt.datetime) -> bool:
    if filters.get("language") and case.language != filters["language"]:
        return False
    if filters.get("channel") and case.channel != filters["channel"]:
        return False
    if filters.get("topic") and case.topic != filters["topic"]:
        return False
    if filters.get("city") and case.city != filters["city"]:  # sealed in the record: filtered here
        return False
    hours = parse_number(filters.get("waited", ""))
    return hours is None or now - case.created_at >= dt.timedelta(hours=hours)


async def queue(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = _session(request)
    lawyer = await active_lawyer(console, session)
    if lawyer is None:
        raise web.HTTPSeeOther("/console/cases")
    now = console.clock()
    await record_view(request, "viewed_queue")
    filters = {key: request.query.get(key, "") for key in ("language", "channel", "topic", "city", "waited")}
    waiting = await console.cases.waiting()  # urgent first, then the oldest
    shown = [case for case in waiting if _matches(case, filters, now)]
    return console.render(
        request,
        "queue.html",
        mine=await console.cases.assigned_to(lawyer.id),
        waiting=shown,
        total=len(waiting),
        filters=filters,
        topics=sorted({case.topic for case in waiting if case.topic}),
        channels=sorted({case.channel for case in waiting}),
        cities=CITIES,
        overdue=dt.timedelta(hours=console.settings.overdue_hours),
        done=DONE.get(request.query.get("done", "")),
        live=True,
    )


async def case_page(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session = _session(request)
    case_id = case_id_of(request)
    now = console.clock()
    case = await console.cases.get(case_id)
    lawyer = await active_lawyer(console, session)
    holder = (
        case is not None and lawyer is not None and case.status is CaseStatus.ASSIGNED and case.lawyer_id == lawyer.id
    )
    may_see = case is not None and (holder or session.staff.oversees or case.status is CaseStatus.WAITING)
    if case is None or not may_see:
        await console.staff.audit(session.staff, "viewed_refused", now, case_id=case_id)
        return console.render(request, "refused.html", status=403 if case is not None else 404)
    await record_view(request, "viewed_case" if holder else "viewed_case_state", case_id)
    holder_name = None
    if case.lawyer_id is not None:
        held_by = await console.lawyers.get(case.lawyer_id)
        holder_name = held_by.name if held_by else None
    window_ends = None
    if holder and case.channel == "whatsapp":
        last = await console.queries.last_whatsapp_message(case.contact_id)
        window_ends = last + WHATSAPP_WINDOW if last else now
    return console.render(
        request,
        "case.html",
        window_ends=window_ends,
        case=case,
        holder=holder,
        holder_name=holder_name,
        thread=await console.queries.thread(case) if holder else [],
        lawyers=await console.lawyers.active() if session.staff.oversees else [],
        done=DONE.get(request.query.get("done", "")),
        can_take=lawyer is not None and case.status is CaseStatus.WAITING,
        live=True,
    )


def _back(case_id: int, done: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/console/cases/{case_id}?done={done}")


async def _acting_lawyer(request: web.Request) -> tuple[Console, StaffSession, LawyerRecord, int]:
    console = request.app[CONSOLE_KEY]
    session = _session(request)
    lawyer = await active_lawyer(console, session)
    case_id = case_id_of(request)
    if lawyer is None:
        await console.staff.audit(session.staff, "act_refused", console.clock(), case_id=case_id)
        raise web.HTTPForbidden(text="Only lawyers act on cases.")
    return console, session, lawyer, case_id


async def take(request: web.Request) -> web.StreamResponse:
    console, _, lawyer, case_id = await _acting_lawyer(request)
    result = await console.desk.claim(lawyer, case_id)
    done = {
        TakeResult.TAKEN: "taken",
        TakeResult.ALREADY_YOURS: "taken",
        TakeResult.TAKEN_BY_OTHER: "taken_by_other",
        TakeResult.GONE: "gone",
        TakeResult.UNREACHABLE: "refused",
    }[result]
    if result is TakeResult.TAKEN_BY_OTHER or result is TakeResult.GONE:
        raise web.HTTPSeeOther(f"/console/queue?done={done}")
    raise _back(case_id, done)


async def release(request: web.Request) -> web.StreamResponse:
    console, _, lawyer, case_id = await _acting_lawyer(request)
    if not await console.desk.release(lawyer, case_id):
        raise _back(case_id, "refused")
    raise web.HTTPSeeOther("/console/queue?done=released")


async def close(request: web.Request) -> web.StreamResponse:
    console, _, lawyer, case_id = await _acting_lawyer(request)
    form = await request.post()
    outcome = str(form.get("outcome", "")).strip()[:MAX_OUTCOME]
    if not outcome or not await console.desk.close(lawyer, case_id, outcome):
        raise _back(case_id, "refused")
    raise web.HTTPSeeOther("/console/queue?done=closed")


async def reply(request: web.Request) -> web.StreamResponse:
    console, _, lawyer, case_id = await _acting_lawyer(request)
    form = await request.post()
    text = str(form.get("text", ""))[:MAX_REPLY]
    delivered = await console.desk.answer(lawyer, case_id, text)
    if delivered is None:
        raise _back(case_id, "refused")
    raise _back(case_id, "sent" if delivered else "queued")


async def note(request: web.Request) -> web.StreamResponse:
    console, _, lawyer, case_id = await _acting_lawyer(request)
    case = await console.cases.get(case_id)
    if case is None or case.lawyer_id != lawyer.id or case.status is not CaseStatus.ASSIGNED:
        raise _back(case_id, "refused")
    form = await request.post()
    text = str(form.get("text", ""))[:MAX_REPLY]
    raise _back(case_id, "noted" if await console.desk.add_note(lawyer, case_id, text) else "refused")
