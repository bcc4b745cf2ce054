"""Headers, cookies, CSRF tokens and the login limiter of the console."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

SESSION_COOKIE = "pana_console"
LOGIN_CSRF_COOKIE = "pana_console_login"
LANGUAGE_COOKIE = "pana_console_lang"
COOKIE_PATH = "/console/"

# Everything from this server, nothing inline (no inline script or style: the SVG charts use attributes).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages hold case details: never kept by a shared browser or proxy
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a session token: a stolen copy of the table signs no one in."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def set_cookie(
    response: web.StreamResponse, name: str, value: str, *, secure: bool, max_age: int | None = None
) -> None:
    response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=secure, max_age=max_age)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:  # redirects and refusals carry the headers too
        error.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/console/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"  # code and styles, no personal data
    return response


class AddressLimiter:
    """At most `limit` login attempts per client address in a sliding window (in memory, per process).

    Bounded: the oldest addresses are forgotten beyond `max_addresses`. The per-account lockout is in the
    database and holds across processes; this one slows a guesser spraying many accounts.
    """

    def __init__(self, limit: int, window: dt.timedelta, max_addresses: int = 10_000) -> None:
        self._limit = limit
        self._window = window
        self._max = max_addresses
        self._attempts: dict[str, deque[dt.datetime]] = {}

    def allow(self, address: str, now: dt.datetime) -> bool:
        attempts = self._attempts.pop(address, deque())
        while attempts and attempts[0] <= now - self._window:
            attempts.popleft()
        allowed = len(attempts) < self._limit
        if allowed:
            attempts.append(now)
        self._attempts[address] = attempts  # re-inserted last: dicts keep order, the oldest go first
        while len(self._attempts) > self._max:
            self._attempts.pop(next(iter(self._attempts)))
        return allowed
