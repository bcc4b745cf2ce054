"""Choosing one's own password: required after an admin set one (a new account, a reset), open to anyone."""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import count_failure, locked_out
from bot.console.context import CONSOLE_KEY, SESSION_KEY
from bot.console.passwords import WeakPassword, check_strength, hash_in_thread, verify_password
from bot.console.security import SESSION_COOKIE, new_token, set_cookie, token_hash
from bot.records.staff import StaffSession

MAX_PASSWORD = 1024


async def password_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return console.render(request, "password.html", error=None)


async def change_password(request: web.Request) -> web.StreamResponse:
    """The current password, then the new one twice. Every other session ends; this browser gets a new one."""
    console = request.app[CONSOLE_KEY]
    session: StaffSession = request[SESSION_KEY]
    form = await request.post()
    current = str(form.get("current", ""))[:MAX_PASSWORD]
    new, again = str(form.get("new", ""))[:MAX_PASSWORD], str(form.get("again", ""))[:MAX_PASSWORD]
    now = console.clock()
    found = await console.staff.credentials(session.staff.username)
    if found is None:
        raise web.HTTPSeeOther("/console/login")
    _staff, stored_hash, locked_until = found
    locked = locked_until is not None and locked_until > now
    if locked or not await verify_password(stored_hash, current):
        # The same lock as signing in: an open session must not be a way to guess the password without limit.
        if locked or await count_failure(console, session.staff.id, now):
            return await locked_out(console, request, session.staff.username)
        return console.render(request, "password.html", status=400, error="wrong")
    if new != again:
        return console.render(request, "password.html", status=400, error="differ")
    try:
        check_strength(new)
    except WeakPassword:
        return console.render(request, "password.html", status=400, error="weak")
    if new == current:
        return console.render(request, "password.html", status=400, error="same")
    await console.staff.replace_password(session.staff.id, await hash_in_thread(new), now)
    staff = await console.staff.get(session.staff.id)
    if staff is None:
        raise web.HTTPSeeOther("/console/login")
    token = new_token()
    await console.sessions.end(token_hash(request.cookies.get(SESSION_COOKIE, "")))
    await console.sessions.start(staff, token_hash(token), now, awaiting_code=False)
    response = web.HTTPSeeOther("/console/")
    set_cookie(response, SESSION_COOKIE, token, secure=console.secure_cookies)
    raise response
