"""Signing in and out: the session middleware, CSRF checks, login with limits and lockout, language choice."""

from __future__ import annotations

import datetime as dt
import logging

from aiohttp import web

from bot.console.context import CONSOLE_KEY, SESSION_KEY, Console, page_language
from bot.console.passwords import hash_in_thread, needs_rehash, verify_password
from bot.console.security import (
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Handler,
    new_token,
    same_token,
    set_cookie,
    token_hash,
)
from bot.console.totp import matching_step
from bot.languages import LANGUAGES
from bot.records.staff import LoginResult, StaffSession

log = logging.getLogger(__name__)

PUBLIC = ("/console/login", "/console/static/")
CODE_PAGE = "/console/code"
WHILE_AWAITING_CODE = (CODE_PAGE, "/console/logout")  # all a session waiting for its one-time code may open
# all an account whose password an admin set may open until the person chose their own
WHILE_PASSWORD_TEMPORARY = ("/console/password", "/console/logout")
MAX_CODE = 16
MAX_USERNAME = 64
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" must not cost a hash


def login_url() -> str:
    return "/console/login"


@web.middleware
async def require_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every page but login and static files needs a live session; every POST its CSRF token."""
    if request.path.startswith(PUBLIC):
        return await handler(request)
    console = request.app[CONSOLE_KEY]
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        session = await console.sessions.current(token_hash(token), console.clock())
    if session is None:
        if request.path == "/console/events":
            raise web.HTTPUnauthorized()
        raise web.HTTPSeeOther(login_url())
    if session.awaiting_code and request.path not in WHILE_AWAITING_CODE:
        if request.path == "/console/events":
            raise web.HTTPUnauthorized()
        raise web.HTTPSeeOther(CODE_PAGE)
    if session.staff.password_temporary and request.path not in WHILE_PASSWORD_TEMPORARY:
        if request.path == "/console/events":
            raise web.HTTPUnauthorized()
        raise web.HTTPSeeOther(WHILE_PASSWORD_TEMPORARY[0])
    request[SESSION_KEY] = session
    if request.method == "POST":
        form = await request.post()
        given = form.get("csrf")
        if not same_token(session.csrf, given if isinstance(given, str) else None):
            await console.staff.audit(session.staff, "csrf_refused", console.clock())
            raise web.HTTPForbidden(text="The form expired. Go back, reload the page and try again.")
    return await handler(request)


async def login_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    chosen = request.query.get("lang", "")
    language = chosen if chosen in LANGUAGES else page_language(request)
    token = new_token()
    response = console.render(request, "login.html", language=language, form_token=token, error=None, username="")
    if chosen in LANGUAGES:  # remembered for the next visit of this browser
        set_cookie(response, LANGUAGE_COOKIE, chosen, secure=console.secure_cookies, max_age=365 * 86400)
    set_cookie(response, LOGIN_CSRF_COOKIE, token, secure=console.secure_cookies)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    username = str(form.get("username", "")).strip()[:MAX_USERNAME]
    password = str(form.get("password", ""))
    given = form.get("form_token")
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None) or not (
        request.cookies.get(LOGIN_CSRF_COOKIE)
    ):
        raise web.HTTPSeeOther(login_url())  # an old or forged form: start again
    now = console.clock()
    address = request.remote or "unknown"
    if not console.limiter.allow(address, now):
        return _refused(console, request, LoginResult.LOCKED, username)
    result, session_token = await _check(console, username, password[:MAX_PASSWORD], now)
    if result not in (LoginResult.OK, LoginResult.CODE_NEEDED) or session_token is None:
        return _refused(console, request, result, username)
    response = web.HTTPSeeOther("/console/" if result is LoginResult.OK else CODE_PAGE)
    set_cookie(response, SESSION_COOKIE, session_token, secure=console.secure_cookies)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console/")
    raise response


async def _check(console: Console, username: str, password: str, now: dt.datetime) -> tuple[LoginResult, str | None]:
    found = await console.staff.credentials(username) if username else None
    stored = found[1] if found else None
    matches = await verify_password(stored, password)  # also for unknown names: the same time either way
    if found is None:
        return LoginResult.WRONG, None
    staff, stored_hash, locked_until = found
    if locked_until is not None and locked_until > now:
        return LoginResult.LOCKED, None
    if not staff.active:
        return LoginResult.WRONG, None
    if not matches:
        return (LoginResult.LOCKED if await count_failure(console, staff.id, now) else LoginResult.WRONG), None
    if staff.oversees and not staff.has_totp and console.settings.require_totp:
        return LoginResult.ENROL, None
    if needs_rehash(stored_hash):
        await console.staff.rehash(staff.id, await hash_in_thread(password))
    token = new_token()
    await console.sessions.start(staff, token_hash(token), now, awaiting_code=staff.has_totp)
    if staff.has_totp:
        return LoginResult.CODE_NEEDED, token
    log.info("Staff account %d signed in to the console", staff.id)
    return LoginResult.OK, token


async def code_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return console.render(request, "code.html", error=None)


async def confirm_code(request: web.Request) -> web.StreamResponse:
    """The second step: the account's current one-time code, once. Wrong codes count towards the lock."""
    console = request.app[CONSOLE_KEY]
    session: StaffSession = request[SESSION_KEY]
    form = await request.post()
    code = str(form.get("code", ""))[:MAX_CODE]
    now = console.clock()
    staff = session.staff
    found = await console.staff.credentials(staff.username)
    locked = found is not None and found[2] is not None and found[2] > now
    secret = await console.staff.totp_secret(staff.id)
    step = matching_step(secret, code, now) if secret and not locked else None
    if step is None or not await console.staff.claim_totp_step(staff.id, step):
        if locked or await count_failure(console, staff.id, now):
            return await locked_out(console, request, staff.username)
        return console.render(request, "code.html", status=401, error="wrong")
    token = new_token()
    if not await console.sessions.confirm(token_hash(request.cookies.get(SESSION_COOKIE, "")), token_hash(token), now):
        raise web.HTTPSeeOther(login_url())
    log.info("Staff account %d signed in to the console with a one-time code", staff.id)
    response = web.HTTPSeeOther("/console/")
    set_cookie(response, SESSION_COOKIE, token, secure=console.secure_cookies)
    raise response


async def count_failure(console: Console, staff_id: int, now: dt.datetime) -> bool:
    """A wrong password or one-time code, wherever it was typed (sign-in, code page, password change), counts
    towards the account's lock; True once it is locked."""
    lockout = dt.timedelta(minutes=console.settings.lockout_minutes)
    return await console.staff.login_failed(staff_id, now, console.settings.login_attempts, lockout)


async def locked_out(console: Console, request: web.Request, username: str) -> web.Response:
    """The account just locked (or was): this browser's session ends, and it gets the sign-in page saying so."""
    await console.sessions.end(token_hash(request.cookies.get(SESSION_COOKIE, "")))
    response = _refused(console, request, LoginResult.LOCKED, username)
    response.del_cookie(SESSION_COOKIE, path="/console/")
    return response


def _refused(console: Console, request: web.Request, result: LoginResult, username: str) -> web.Response:
    token = new_token()
    response = console.render(
        request,
        "login.html",
        status={LoginResult.WRONG: 401, LoginResult.ENROL: 403}.get(result, 429),
        form_token=token,
        error=result.value,
        username=username,
    )
    set_cookie(response, LOGIN_CSRF_COOKIE, token, secure=console.secure_cookies)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session: StaffSession = request[SESSION_KEY]
    token = request.cookies.get(SESSION_COOKIE, "")
    await console.sessions.end(token_hash(token))
    await console.staff.audit(session.staff, "logout", console.clock())
    response = web.HTTPSeeOther(login_url())
    response.del_cookie(SESSION_COOKIE, path="/console/")
    raise response


async def logout_everywhere(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE_KEY]
    session: StaffSession = request[SESSION_KEY]
    await console.sessions.end_all(session.staff.id)
    await console.staff.audit(session.staff, "logout_everywhere", console.clock())
    response = web.HTTPSeeOther(login_url())
    response.del_cookie(SESSION_COOKIE, path="/console/")
    raise response


async def choose_language(request: web.Request) -> web.StreamResponse:
    """The signed-in person's language, kept on their account (so every device shows it)."""
    console = request.app[CONSOLE_KEY]
    session: StaffSession = request[SESSION_KEY]
    form = await request.post()
    language = str(form.get("language", ""))
    if language in LANGUAGES:
        await console.staff.set_language(session.staff.id, language)
    back = str(form.get("back", "/console/"))
    raise web.HTTPSeeOther(back if back.startswith("/console/") and "//" not in back else "/console/")
