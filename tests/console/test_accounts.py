"""Accounts on the web over real HTTP: admin only, CSRF, the initial password, the last-admin and own-account
rules, and the same store the CLI uses underneath."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.records.staff import Role
from bot.storage.handoff_tables import AuditRow
from bot.storage.staff import LastAdmin
from tests.conftest import record
from tests.console.conftest import ConsoleStack
from tests.handoff.test_flow import open_case

pytestmark = pytest.mark.asyncio

SHOWN_ONCE = re.compile(r'class="secret"><code>([^<]+)</code>')
NEW_PASSWORD = "a long password of my own"


async def _audit(stack: ConsoleStack) -> list[tuple[str, int | None, int | None]]:
    async with record(stack.app)() as session:
        query = select(AuditRow.action, AuditRow.staff_id, AuditRow.subject_staff_id).order_by(AuditRow.id)
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def test_only_admins_open_the_account_pages(console_stack: ConsoleStack) -> None:
    stack = console_stack
    admin = await stack.add_staff("sara", Role.ADMIN)
    await stack.add_staff("omar", Role.SUPERVISOR)
    await stack.add_staff("aigerim", Role.LAWYER)
    for username in ("omar", "aigerim"):
        browser = await stack.staff(username)
        await browser.get("/console/")
        assert "/console/accounts" not in browser.page, "no menu entry"
        await browser.get("/console/accounts")
        assert browser.status == 403
        await browser.get(f"/console/accounts/{admin.id}")
        assert browser.status == 403
        await browser.post("/console/accounts", username="mallory", role="admin", languages="en")
        assert browser.status == 403
        await browser.post(f"/console/accounts/{admin.id}/disable")
        assert browser.status == 403
    assert await stack.desk.staff.by_username("mallory") is None
    sara = await stack.staff("sara")
    await sara.get("/console/accounts")
    assert sara.status == 200 and "aigerim" in sara.page and "omar" in sara.page
    await sara.post("/console/accounts", csrf="forged", username="mallory", role="admin", languages="en")
    assert sara.status == 403 and await stack.desk.staff.by_username("mallory") is None, "CSRF checked"
    sara_record = await stack.desk.staff.by_username("sara")
    assert sara_record is not None and sara_record.active, "still signed in and active after all that"


async def test_an_added_account_signs_in_with_the_initial_password_and_must_replace_it(
    console_stack: ConsoleStack,
) -> None:
    stack = console_stack
    admin = await stack.add_staff("sara", Role.ADMIN)
    sara = await stack.staff("sara")
    await sara.get("/console/accounts")
    await sara.post(
        "/console/accounts", username="nurlan", name="Nurlan", role="lawyer", languages="ru,kk", telegram_id=""
    )
    assert sara.status == 200
    shown = SHOWN_ONCE.search(sara.page)
    assert shown is not None and len(shown.group(1)) == 20
    initial = shown.group(1)
    await sara.get("/console/accounts")
    assert initial not in sara.page, "shown once only"
    nurlan = await stack.desk.staff.by_username("nurlan")
    assert nurlan is not None and nurlan.role is Role.LAWYER and nurlan.lawyer_id is not None
    assert ("staff_added", admin.id, nurlan.id) in await _audit(stack), "who added whom"

    browser = await stack.staff("nurlan", initial)
    assert browser.url.endswith("/console/password"), "the first page is the password form"
    await browser.get("/console/queue")
    assert browser.url.endswith("/console/password"), "nothing else opens before a password of their own"
    await browser.post("/console/password", current=initial, new="short", again="short")
    assert browser.status == 400
    await browser.post("/console/password", current=initial, new=NEW_PASSWORD, again=NEW_PASSWORD)
    assert browser.status == 200 and browser.url.endswith("/console/queue"), "a lawyer's home: the queue"
    assert (await stack.staff("nurlan", initial)).status == 401, "the initial password is spent"
    assert (await stack.staff("nurlan", NEW_PASSWORD)).url.endswith("/console/queue")


async def test_admin_changes_disables_resets_and_signs_out_an_account(console_stack: ConsoleStack) -> None:
    stack = console_stack
    admin = await stack.add_staff("sara", Role.ADMIN)
    lawyer = await stack.add_staff("aigerim", Role.LAWYER, languages=("en", "ru"))
    await open_case(stack)
    aigerim = await stack.staff("aigerim")
    await aigerim.post("/console/cases/1/take")
    sara = await stack.staff("sara")
    await sara.get(f"/console/accounts/{lawyer.id}")
    assert sara.status == 200 and "aigerim" in sara.page
    assert ("viewed_account", admin.id, lawyer.id) in await _audit(stack), "which account was looked at"

    await sara.post(f"/console/accounts/{lawyer.id}/sign-out")
    assert sara.url.endswith("?done=sign-out")
    await aigerim.get("/console/queue")
    assert 'name="password"' in aigerim.page, "signed out everywhere at once"

    aigerim = await stack.staff("aigerim")
    await sara.post(f"/console/accounts/{lawyer.id}/change", role="supervisor", languages="ru,en")
    changed = await stack.desk.staff.by_username("aigerim")
    assert changed is not None and changed.role is Role.SUPERVISOR and changed.ui_language == "ru"
    case = await stack.app.handoff.cases.get(1)
    assert case is not None and case.status.value == "waiting", "a lawyer who is no longer one leaves the desk"
    await aigerim.get("/console/cases")
    assert 'name="password"' in aigerim.page, "a new role signs the account out"

    await sara.post(f"/console/accounts/{lawyer.id}/disable")
    await sara.get("/console/accounts")
    assert "disabled" in sara.page
    assert (await stack.staff("aigerim")).status == 401
    await sara.post(f"/console/accounts/{lawyer.id}/enable")
    await sara.post(f"/console/accounts/{lawyer.id}/password")
    shown = SHOWN_ONCE.search(sara.page)
    assert shown is not None
    again = await stack.staff("aigerim", shown.group(1), totp_code="")
    assert again.url.endswith(("/console/code", "/console/login")), "a supervisor now: refused without codes"

    await sara.post(f"/console/accounts/{lawyer.id}/totp")
    secret = SHOWN_ONCE.search(sara.page)
    assert secret is not None and len(secret.group(1)) == 32
    enrolled = await stack.desk.staff.by_username("aigerim")
    assert enrolled is not None and enrolled.has_totp
    await sara.get("/console/accounts")
    row = sara.page.split("aigerim")[1].split("</tr>")[0]
    assert row.count(">yes<") >= 1, "the list shows the enrolment"

    actions = [
        (action, by, about)
        for action, by, about in await _audit(stack)
        if about == lawyer.id and action != "viewed_account"
    ]
    assert [action for action, _by, _about in actions] == [
        "staff_added",
        "signed_out_by_admin",
        "role_changed",
        "staff_disabled",
        "staff_enabled",
        "password_reset",
        "totp_enrolled",
    ]
    assert all(by == admin.id for _action, by, _about in actions[1:]), "each web act names the admin"


async def test_an_admin_cannot_lock_themself_or_everyone_out(console_stack: ConsoleStack) -> None:
    stack = console_stack
    admin = await stack.add_staff("sara", Role.ADMIN)
    sara = await stack.staff("sara")
    await sara.get(f"/console/accounts/{admin.id}")
    for action, form in (("disable", {}), ("change", {"role": "supervisor", "languages": "en"}), ("password", {})):
        await sara.post(f"/console/accounts/{admin.id}/{action}", **form)
        assert sara.url.endswith("?done=own_account"), action
    me = await stack.desk.staff.by_username("sara")
    assert me is not None and me.active and me.role is Role.ADMIN
    # The last-admin rule holds below the web too (pana staff uses the same store)
    with pytest.raises(LastAdmin):
        await stack.desk.staff.disable("sara", stack.clock())
    with pytest.raises(LastAdmin):
        await stack.desk.staff.change("sara", Role.SUPERVISOR, ("en",), stack.clock())
    other = await stack.add_staff("omar", Role.ADMIN)
    await sara.post(f"/console/accounts/{other.id}/change", role="lawyer", languages="kk")
    assert sara.url.endswith("?done=change")
    with pytest.raises(LastAdmin):
        await stack.desk.staff.disable("sara", stack.clock())
    assert "account_act_refused" in [action for action, _by, _about in await _audit(stack)]


async def test_guessing_the_current_password_on_the_password_page_locks_the_account(
    console_stack: ConsoleStack,
) -> None:
    """An open session is no way around the sign-in lock: wrong current passwords count the same."""
    stack = console_stack
    await stack.add_staff("aigerim", Role.LAWYER)
    browser = await stack.staff("aigerim")
    await browser.get("/console/password")
    for guess in ("guess number one", "guess number two"):  # login_attempts is 3 in these tests
        await browser.post("/console/password", current=guess, new=NEW_PASSWORD, again=NEW_PASSWORD)
        assert browser.status == 400 and "The current password is wrong." in browser.page
    await browser.post("/console/password", current="guess number three", new=NEW_PASSWORD, again=NEW_PASSWORD)
    assert browser.status == 429 and 'name="password"' in browser.page, "locked: the sign-in page says so"
    await browser.get("/console/queue")
    assert browser.url.endswith("/console/login"), "this browser's session ended with the lock"
    assert (await stack.staff("aigerim")).status == 429, "the right password waits for the lock to end"
