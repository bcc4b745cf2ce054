"""The console's security over real HTTP: headers, cookies, CSRF, login limits, sessions, authorisation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.console.passwords import hash_password
from bot.records.cases import NewCase, Reason
from bot.records.staff import Role
from bot.storage.handoff_tables import AuditRow, RelayRow
from bot.storage.tables import ContactRow, WhatsAppWindowRow
from tests.conftest import record
from tests.console.conftest import PASSWORD, ConsoleStack
from tests.handoff.conftest import USER
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio

WORDS = "Мой паспорт забрали в миграционной полиции"


async def _audit_actions(stack: ConsoleStack) -> list[str]:
    async with record(stack.app)() as session:
        return list((await session.execute(select(AuditRow.action).order_by(AuditRow.id))).scalars())


async def test_pages_carry_strict_headers_and_the_session_cookie_is_locked_down(console_stack: ConsoleStack) -> None:
    await console_stack.add_staff("aigerim", Role.LAWYER)
    staff = await console_stack.staff("aigerim")
    assert staff.status == 200 and "Waiting cases" in staff.page, "signed in, sent on to the queue"
    for path in ("/console/login", "/console/queue"):
        await staff.get(path)
        csp = staff.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert staff.headers["X-Frame-Options"] == "DENY"
        assert staff.headers["X-Content-Type-Options"] == "nosniff"
        assert staff.headers["Cache-Control"] == "no-store"
    cookie = staff.cookie("pana_console")
    assert (
        cookie is not None and cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console/"
    )
    assert not cookie["secure"], "plain http in tests; Secure when PANA_PUBLIC_URL is https"
    async with record(console_stack.app)() as session:
        from bot.storage.staff_tables import StaffSessionRow

        stored = (await session.execute(select(StaffSessionRow.id))).scalars().all()
    assert stored and cookie.value not in stored, "the database keeps a hash of the token, not the token"


async def test_a_form_without_its_csrf_token_is_refused(console_stack: ConsoleStack) -> None:
    await console_stack.add_staff("aigerim", Role.LAWYER)
    staff = await console_stack.staff("aigerim")
    await staff.post("/console/logout", csrf="forged")
    assert staff.status == 403
    await staff.get("/console/queue")
    assert staff.status == 200 and "Waiting cases" in staff.page, "still signed in: the forged logout did nothing"
    assert "csrf_refused" in await _audit_actions(console_stack)


async def test_wrong_passwords_lock_the_account_even_for_the_right_one(console_stack: ConsoleStack) -> None:
    await console_stack.add_staff("aigerim", Role.LAWYER)
    for _ in range(3):  # login_attempts=3 in the fixture
        refused = await console_stack.staff("aigerim", "wrong password!")
        assert refused.status in (401, 429) and refused.cookie("pana_console") is None
    locked = await console_stack.staff("aigerim")
    assert locked.status == 429 and "Too many attempts" in locked.page
    unknown = await console_stack.staff("nobody", PASSWORD)
    assert unknown.status == 401 and "Wrong username or password" in unknown.page
    console_stack.clock.advance(minutes=16)  # the lockout (15 minutes) is over
    allowed = await console_stack.staff("aigerim")
    assert allowed.status == 200 and allowed.cookie("pana_console") is not None
    actions = await _audit_actions(console_stack)
    assert (
        actions.count("login_failed") == 3 and "login_locked" in actions and actions[-2:] == ["login", "viewed_queue"]
    )


async def test_sessions_end_when_idle_and_logout_everywhere_ends_them_all(console_stack: ConsoleStack) -> None:
    await console_stack.add_staff("aigerim", Role.LAWYER)
    phone, laptop = await console_stack.staff("aigerim"), await console_stack.staff("aigerim")
    await phone.get("/console/queue")
    await phone.post("/console/logout-everywhere")
    for browser in (phone, laptop):
        await browser.get("/console/queue")
        assert "Sign in" in browser.page and 'name="password"' in browser.page
    reset = await console_stack.staff("aigerim")
    await console_stack.desk.staff.set_password("aigerim", hash_password(PASSWORD), console_stack.clock())
    await reset.get("/console/queue")
    assert 'name="password"' in reset.page, "a new password ends every session"
    again = await console_stack.staff("aigerim")
    console_stack.clock.advance(minutes=31)  # PANA_CONSOLE_IDLE_MINUTES=30
    await again.get("/console/queue")
    assert 'name="password"' in again.page


async def test_only_the_holding_lawyer_sees_the_words_and_acts_on_the_case(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER, languages=("en", "ru"))
    await stack.add_staff("dana", Role.LAWYER)
    await stack.add_staff("sara", Role.SUPERVISOR)
    await stack.write(WORDS)
    await open_case(stack)
    aigerim, dana, sara = await stack.staff("aigerim"), await stack.staff("dana"), await stack.staff("sara")

    await aigerim.get("/console/cases/1")
    assert aigerim.status == 200 and "Take this case" in aigerim.page and WORDS not in aigerim.page
    await aigerim.post("/console/cases/1/take")
    assert aigerim.status == 200 and WORDS in aigerim.page, "the holder sees the consented history"

    await dana.get("/console/cases/1")
    assert dana.status == 403 and WORDS not in dana.page
    relays_before = await _relay_count(stack)
    await dana.get("/console/queue")
    await dana.post("/console/cases/1/reply", text="I am not the lawyer on this case")
    await dana.post("/console/cases/1/close", outcome="closed by someone else")
    await dana.post("/console/cases/1/release")
    assert await _relay_count(stack) == relays_before, "nothing reached the person"
    await dana.get("/console/cases")
    assert dana.status == 403, "lawyers do not see the supervisor's lists"

    await sara.get("/console/cases/1")
    assert sara.status == 200 and "#1" in sara.page and WORDS not in sara.page, "supervisors see the state only"
    await sara.post("/console/cases/1/reply", text="supervisors do not write to people")
    assert sara.status == 403
    actions = await _audit_actions(stack)
    assert "viewed_refused" in actions and "viewed_case" in actions and "viewed_case_state" in actions


async def test_a_disabled_account_is_signed_out_at_once_and_its_cases_go_back(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER, languages=("en", "ru"))
    await open_case(stack)
    aigerim = await stack.staff("aigerim")
    await aigerim.post("/console/cases/1/take")
    assert "Reply to the person" in aigerim.page
    disabled = await stack.desk.staff.disable("aigerim", stack.clock())
    assert disabled is not None and disabled[1] == [1]
    await aigerim.get("/console/cases/1")
    assert 'name="password"' in aigerim.page, "the next request lands on the login page"
    case = await stack.app.handoff.cases.get(1)
    assert case is not None and case.status.value == "waiting"
    again = await stack.staff("aigerim")
    assert again.status == 401 and again.cookie("pana_console") is None


async def test_supervisor_reassigns_and_exports_the_audit_log(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER, languages=("en", "ru"))
    await stack.add_staff("sara", Role.SUPERVISOR)
    await open_case(stack)
    stack.clock.advance(hours=5)  # past PANA_CONSOLE_OVERDUE_HOURS
    sara = await stack.staff("sara")
    await sara.get("/console/cases")
    assert "waiting long" in sara.page and "#1" in sara.page
    lawyer = (await stack.app.handoff.lawyers.active())[0]
    await sara.post("/console/cases/1/reassign", lawyer=str(lawyer.id))
    assert "The case was reassigned." in sara.page
    case = await stack.app.handoff.cases.get(1)
    assert case is not None and case.lawyer_id == lawyer.id and case.status.value == "assigned"
    told = stack.text_to(USER)
    assert "#1" in told and lawyer.name in told, "the person learns who answers them now"
    async with sara.http.get(stack.base_url + "/console/audit.csv?case=1") as response:
        body = await response.text()
        assert response.status == 200 and response.content_type == "text/csv"
    assert body.startswith("id,at_utc,actor,action,case,lawyer,account") and ",reassigned,1," in body
    assert WORDS not in body


async def _relay_count(stack: ConsoleStack) -> int:
    async with record(stack.app)() as session:
        return int(await session.scalar(select(func.count()).select_from(RelayRow)) or 0)


async def test_the_holder_sees_whether_the_whatsapp_window_is_open(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER)
    async with record(stack.app)() as session:
        number = "whatsapp:+77010000000"
        contact = ContactRow(
            channel="whatsapp", platform_id=number, platform_hash=stack.app.keyring.blind(number), language="en"
        )
        session.add(contact)
        await session.flush()
        window = WhatsAppWindowRow(contact_id=contact.id, last_inbound_at=stack.clock() - dt.timedelta(hours=25))
        session.add(window)
        await session.commit()
        contact_id = contact.id
    new = NewCase(contact_id, "en", "asylum_apply", False, Reason.ASKED, "— help")
    case = await stack.app.handoff.cases.open(new, stack.clock())
    assert case is not None
    aigerim = await stack.staff("aigerim")
    await aigerim.post(f"/console/cases/{case.id}/take")
    assert "is more than 24 hours old" in aigerim.page
    async with record(stack.app)() as session:
        row = await session.get(WhatsAppWindowRow, contact_id)
        assert row is not None
        row.last_inbound_at = stack.clock() - dt.timedelta(hours=1)
        await session.commit()
    await aigerim.get(f"/console/cases/{case.id}")
    assert "answers go straight to the person until" in aigerim.page
