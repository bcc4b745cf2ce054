"""The admin's account pages: list, add, change role and languages, disable/enable, reset password or one-time
codes, sign out everywhere. Each action goes through AccountAdmin, the same code as `pana staff`."""

from __future__ import annotations

import re

from aiohttp import web

from bot.console.accounts import LastAdmin, NoSuchAccount, OwnAccount, StaffExists
from bot.console.context import CONSOLE_KEY, SESSION_KEY, Console
from bot.console.totp import provisioning_uri
from bot.console.views import record_view
from bot.core.numbers import parse_number
from bot.languages import LANGUAGES, Language
from bot.records.staff import Role, StaffRecord, StaffSession

USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_NAME = 128
ACTIONS = ("change", "disable", "enable", "password", "totp", "sign-out")


def admin(request: web.Request) -> tuple[Console, StaffSession]:
    """Admins only, checked here on the server for every page and action."""
    session: StaffSession = request[SESSION_KEY]
    if session.staff.role is not Role.ADMIN:
        raise web.HTTPForbidden(text="Admins only.")
    return request.app[CONSOLE_KEY], session


def parse_languages(text: str) -> tuple[Language, ...] | None:
    """ "kk,ru" → ("kk", "ru"); None when empty or any code is unknown. The first is the console language."""
    codes = [code.strip().lower() for code in text.split(",") if code.strip()]
    if not codes or any(code not in LANGUAGES for code in codes):
        return None
    return tuple(dict.fromkeys(codes))  # type: ignore[arg-type]


async def accounts(request: web.Request) -> web.StreamResponse:
    console, _session = admin(request)
    await record_view(request, "viewed_accounts")
    return await _list(console, request)


async def _list(console: Console, request: web.Request, status: int = 200, error: str | None = None) -> web.Response:
    return console.render(
        request, "accounts.html", status=status, accounts=await console.accounts.overview(), error=error, Role=Role
    )


async def add(request: web.Request) -> web.StreamResponse:
    console, session = admin(request)
    form = await request.post()
    username = str(form.get("username", "")).strip()
    name = str(form.get("name", "")).strip()[:MAX_NAME] or username
    role = str(form.get("role", ""))
    languages = parse_languages(str(form.get("languages", "")))
    telegram = str(form.get("telegram_id", "")).strip()
    telegram_id = parse_number(telegram) if telegram else None
    if (
        not USERNAME.fullmatch(username)
        or role not in {r.value for r in Role}
        or languages is None
        or (telegram and telegram_id is None)
    ):
        return await _list(console, request, 400, "invalid")
    try:
        staff, password = await console.accounts.add(
            username=username,
            name=name,
            role=Role(role),
            languages=languages,
            telegram_id=telegram_id if role == Role.LAWYER.value else None,
            now=console.clock(),
            by=session.staff,
        )
    except StaffExists:
        return await _list(console, request, 409, "taken")
    return console.render(request, "account_secret.html", account=staff, password=password, secret=None, uri=None)


async def _target(console: Console, request: web.Request) -> StaffRecord:
    staff_id = parse_number(request.match_info["account"])
    staff = await console.staff.get(staff_id) if staff_id is not None else None
    if staff is None:
        raise web.HTTPNotFound()
    return staff


async def account(request: web.Request) -> web.StreamResponse:
    console, session = admin(request)
    target = await _target(console, request)
    await console.staff.audit(session.staff, "viewed_account", console.clock(), subject_id=target.id)
    overview = next((o for o in await console.accounts.overview() if o.staff.id == target.id), None)
    return console.render(
        request,
        "account.html",
        account=overview,
        done=request.query.get("done", "")[:32],
        own=target.id == session.staff.id,
        Role=Role,
    )


async def act(request: web.Request) -> web.StreamResponse:
    """One POST per action; a refusal (the last admin, one's own account) comes back as a message."""
    console, session = admin(request)
    target = await _target(console, request)
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    form = await request.post()
    now, by, username = console.clock(), session.staff, target.username
    back = f"/console/accounts/{target.id}"
    try:
        if action == "change":
            role = str(form.get("role", ""))
            languages = parse_languages(str(form.get("languages", "")))
            if role not in {r.value for r in Role} or languages is None:
                raise web.HTTPSeeOther(f"{back}?done=invalid")
            await console.accounts.change(username, Role(role), languages, now, by)
        elif action == "disable":
            await console.accounts.disable(username, now, by)
        elif action == "enable":
            await console.accounts.enable(username, now, by)
        elif action == "sign-out":
            await console.accounts.sign_out(username, now, by)
        elif action == "password":
            password = await console.accounts.reset_password(username, now, by)
            return console.render(
                request, "account_secret.html", account=target, password=password, secret=None, uri=None
            )
        else:
            secret = await console.accounts.reset_totp(username, now, by)
            uri = provisioning_uri(secret, username)
            return console.render(request, "account_secret.html", account=target, password=None, secret=secret, uri=uri)
    except (LastAdmin, OwnAccount) as refusal:
        await console.staff.audit(by, "account_act_refused", now)
        reason = "last_admin" if isinstance(refusal, LastAdmin) else "own_account"
        raise web.HTTPSeeOther(f"{back}?done={reason}") from None
    except NoSuchAccount:
        raise web.HTTPNotFound() from None
    raise web.HTTPSeeOther(f"{back}?done={action}")
