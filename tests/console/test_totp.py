"""One-time codes (RFC 6238) for supervisors and admins: the algorithm against the RFC's vectors, and the
second sign-in step against the real console (database, lockout, replay)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from bot.console.totp import code_for, matching_step, provisioning_uri, step_at
from bot.records.staff import Role
from bot.settings import ConsoleSettings
from bot.storage.handoff_tables import AuditRow
from tests.conftest import record
from tests.console.conftest import ConsoleStack

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of b"12345678901234567890", RFC 6238 appendix B


@pytest.mark.fast
@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")],
)
def test_codes_match_the_rfc_6238_vectors(unix_time: int, eight_digits: str) -> None:
    moment = dt.datetime.fromtimestamp(unix_time, dt.UTC)
    assert code_for(RFC_SECRET, step_at(moment)) == eight_digits[-6:]  # 6 digits: the same number mod 10^6


@pytest.mark.fast
def test_one_step_either_side_is_accepted_and_no_further() -> None:
    moment = dt.datetime(2026, 12, 1, 3, 0, 10, tzinfo=dt.UTC)
    now = step_at(moment)
    for offset in (-1, 0, 1):
        assert matching_step(RFC_SECRET, code_for(RFC_SECRET, now + offset), moment) == now + offset
    for offset in (-2, 2):
        code = code_for(RFC_SECRET, now + offset)
        if code not in {code_for(RFC_SECRET, now + near) for near in (-1, 0, 1)}:  # a chance collision is no miss
            assert matching_step(RFC_SECRET, code, moment) is None
    assert matching_step(RFC_SECRET, "12345", moment) is None and matching_step(RFC_SECRET, "abcdef", moment) is None
    spaced = code_for(RFC_SECRET, now)
    assert matching_step(RFC_SECRET, f"{spaced[:3]} {spaced[3:]}", moment) == now, "as apps show it: 123 456"


@pytest.mark.fast
def test_the_enrolment_address_is_what_authenticator_apps_read() -> None:
    uri = provisioning_uri(RFC_SECRET, "sara")
    assert uri.startswith("otpauth://totp/Pana%20console:sara?")
    assert f"secret={RFC_SECRET}" in uri and "digits=6" in uri and "period=30" in uri and "issuer=Pana+console" in uri


async def _actions(stack: ConsoleStack) -> list[str]:
    async with record(stack.app)() as session:
        return list((await session.execute(select(AuditRow.action).order_by(AuditRow.id))).scalars())


async def test_a_supervisor_signs_in_with_a_code_that_works_once(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("sara", Role.SUPERVISOR)
    browser = await stack.staff("sara")
    assert browser.status == 200 and "/console/cases" in browser.url and "Sign out" in browser.page

    # The same code again, from another browser with the right password: a replay, refused.
    replay = await stack.staff("sara")
    assert replay.status == 401 and "already used" in replay.page
    await replay.get("/console/cases")
    assert "/console/code" in replay.url, "a session waiting for its code opens nothing else"
    async with replay.http.get(stack.base_url + "/console/events") as events:
        assert events.status == 401
    earlier = stack.code("sara", steps_later=-1)
    await replay.post("/console/code", code=earlier)
    assert replay.status == 401, "an earlier code than the one used is spent too"
    await replay.post("/console/code", code=stack.code("sara", steps_later=1))
    assert replay.status == 200 and "Sign out" in replay.page, "the next step's code (a phone a little ahead) works"
    actions = await _actions(stack)
    assert actions.count("login") == 2 and actions.count("login_failed") == 2


async def test_wrong_codes_lock_the_account_like_wrong_passwords(console_stack: ConsoleStack) -> None:
    stack = console_stack  # PANA_CONSOLE_LOGIN_ATTEMPTS=3 here
    await stack.add_staff("sara", Role.ADMIN)
    guesser = await stack.staff("sara", totp_code="000000" if stack.code("sara") != "000000" else "111111")
    assert guesser.status == 401
    await guesser.post("/console/code", code="not a code")
    assert guesser.status == 401
    await guesser.post("/console/code", code="12345678901234567890")
    assert guesser.status == 429 and "Too many attempts" in guesser.page and guesser.cookie("pana_console") is None
    await guesser.post("/console/code", code=stack.code("sara"))
    assert "/console/login" in guesser.url, "the waiting session ended with the lock"
    locked = await stack.staff("sara")
    assert locked.status == 429, "while locked, even the right password and code do not open it"
    stack.clock.advance(minutes=16)
    assert (await stack.staff("sara")).status == 200
    assert "login_locked" in await _actions(stack)


async def test_a_code_is_not_asked_for_long(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("sara", Role.SUPERVISOR)
    waiting = await stack.staff("sara", totp_code="")
    assert "/console/code" in waiting.url
    stack.clock.advance(minutes=6)
    await waiting.post("/console/code", code=stack.code("sara"))
    assert "/console/login" in waiting.url and 'name="password"' in waiting.page


async def test_supervisors_without_a_code_are_told_to_enrol(console_stack: ConsoleStack) -> None:
    stack = console_stack
    await stack.add_staff("sara", Role.SUPERVISOR, totp=False)
    await stack.add_staff("aigerim", Role.LAWYER)
    refused = await stack.staff("sara")
    assert refused.status == 403 and "pana staff totp --username" in refused.page
    assert refused.cookie("pana_console") is None
    assert (await stack.staff("aigerim")).status == 200, "lawyers sign in with their password alone"
    stack.desk.settings = ConsoleSettings(poll_seconds=0.2, login_attempts=3, require_totp=False)
    assert (await stack.staff("sara")).status == 200, "PANA_CONSOLE_REQUIRE_TOTP=0 lets them in without"


async def test_the_secret_is_sealed_at_rest(console_stack: ConsoleStack) -> None:
    stack = console_stack
    enrolled = await stack.add_staff("sara", Role.ADMIN)
    async with record(stack.app)() as session:
        stored = (
            await session.execute(text("SELECT totp_secret FROM staff WHERE id = :id"), {"id": enrolled.id})
        ).scalar()
    assert stored and stack.totp_secrets["sara"] not in stored
    assert await stack.desk.staff.totp_secret(enrolled.id) == stack.totp_secrets["sara"]
    signed_in = await stack.staff("sara")
    assert signed_in.status == 200
    assert (await stack.desk.staff.enrol_totp("sara", "JBSWY3DPEHPK3PXP", stack.clock())) is not None
    await signed_in.get("/console/cases")
    assert 'name="password"' in signed_in.page, "a new enrolment ends the account's sessions"
