"""`pana staff add|list|role|disable|enable|reset-password|totp`: the accounts of the web console.

Every command goes through `AccountAdmin` (bot/console/accounts.py), as the admin's web pages do, so the
same rules hold: the last active admin is never disabled or demoted, and people whose lawyer left are told.

Passwords are read from a prompt (or from stdin when it is not a terminal), never from the command line,
where they would stay in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from bot.cli.lawyers import languages
from bot.records.staff import AccountOverview, Role
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.console.accounts import AccountAdmin
    from bot.languages import Language


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    staff = commands.add_parser("staff", help="accounts of the web console").add_subparsers(
        dest="staff_command", required=True
    )
    add = staff.add_parser("add", help="create an account (the password is asked for)")
    add.add_argument("--username", required=True)
    add.add_argument(
        "--name", help="shown to colleagues (and to people when LAWYER_SHOW_NAME is on); default: username"
    )
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--languages", type=languages, default=("ru",), help="e.g. kk,ru (the first is their UI language)")
    add.add_argument("--telegram-id", type=int, help="a lawyer who also works in Telegram: the same identity")
    staff.add_parser("list", help="every account, active or not, with the columns of the web's account list")
    role = staff.add_parser(
        "role", help="give an account another role (its sessions end); a lawyer who stops being one leaves the desk"
    )
    role.add_argument("--username", required=True)
    role.add_argument("--role", required=True, choices=[role.value for role in Role])
    role.add_argument("--languages", type=languages, help="e.g. kk,ru (the first is their UI language); default: kept")
    disable = staff.add_parser("disable", help="disable an account; its sessions end at once")
    disable.add_argument("--username", required=True)
    enable = staff.add_parser("enable", help="let a disabled account sign in again (a lawyer's desk reopens)")
    enable.add_argument("--username", required=True)
    reset = staff.add_parser("reset-password", help="set a new password; every session of the account ends")
    reset.add_argument("--username", required=True)
    totp = staff.add_parser(
        "totp", help="enrol the account for one-time codes (prints the secret once; a new one replaces the old)"
    )
    totp.add_argument("--username", required=True)


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("pana: the passwords differ")
    return first


LIST_COLUMNS = ("username", "name", "role", "languages", "telegram", "totp", "state", "last_sign_in_utc")


def account_lines(overviews: list[AccountOverview]) -> list[str]:
    """The columns of the admin's list on the web, tab-separated, with a header."""
    lines = ["\t".join(LIST_COLUMNS)]
    for row in overviews:
        staff = row.staff
        last = row.last_sign_in.strftime("%Y-%m-%d %H:%M") if row.last_sign_in else "never"
        cells = (
            staff.username,
            staff.name,
            staff.role.value,
            ",".join(row.languages),
            "yes" if row.telegram_linked else "no",
            "yes" if staff.has_totp else "no",
            "active" if staff.active else "disabled",
            last,
        )
        lines.append("\t".join(cells))
    return lines


async def run_staff(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_keyring
    from bot.clock import utc_now
    from bot.console.accounts import AccountAdmin, LastAdmin, NoSuchAccount, StaffExists
    from bot.console.passwords import WeakPassword
    from bot.storage.database import create_engine, migrate, session_factory
    from bot.storage.staff import SqlStaffStore

    engine = create_engine(settings.database, create_keyring(settings))
    try:
        await migrate(engine)
        store = SqlStaffStore(session_factory(engine))

        async def tell(case_ids: list[int]) -> None:
            await _tell_people(settings, engine, case_ids)

        accounts = AccountAdmin(store, tell)
        command = args.staff_command
        try:
            if command == "list":
                print("\n".join(account_lines(await accounts.overview())))
                return 0
            if command == "role":
                return await _change_role(accounts, args.username, Role(args.role), args.languages)
            if command == "disable":
                _staff, returned = await accounts.disable(args.username, utc_now())
                print(f"Disabled {args.username}; signed out everywhere; {len(returned)} case(s) back in the queue")
                return 0
            if command == "enable":
                await accounts.enable(args.username, utc_now())
                print(f"Enabled {args.username}; they can sign in again with their password")
                return 0
            if command == "totp":
                return _show_secret(args.username, await accounts.reset_totp(args.username, utc_now()))
            password = read_password()
            if command == "reset-password":
                await accounts.reset_password(args.username, utc_now(), password=password)
                print(f"New password set for {args.username}; every session of the account ended")
                return 0
            staff, _made = await accounts.add(
                username=args.username,
                name=args.name or args.username,
                role=Role(args.role),
                languages=args.languages,
                telegram_id=args.telegram_id,
                now=utc_now(),
                password=password,
            )
        except NoSuchAccount:
            print(f"pana: no account {args.username!r}", file=sys.stderr)
            return 1
        except LastAdmin:
            print(f"pana: {args.username!r} is the last active admin; add another admin first", file=sys.stderr)
            return 1
        except StaffExists:
            print(f"pana: the username {args.username!r} is taken", file=sys.stderr)
            return 1
        except WeakPassword as error:
            print(f"pana: {error}", file=sys.stderr)
            return 1
        linked = f", lawyer #{staff.lawyer_id}" if staff.lawyer_id else ""
        print(f"Created {staff.username} ({staff.role.value}{linked}). The console is on with PANA_CONSOLE=1.")
        return 0
    finally:
        await engine.dispose()


async def _change_role(
    accounts: AccountAdmin, username: str, role: Role, languages: tuple[Language, ...] | None
) -> int:
    """A new role, keeping the account's languages unless others are given (the web's form sends both)."""
    from bot.clock import utc_now
    from bot.console.accounts import NoSuchAccount

    current = next((row for row in await accounts.overview() if row.staff.username == username), None)
    if current is None:
        raise NoSuchAccount(username)
    await accounts.change(username, role, languages or current.languages, utc_now())
    if current.staff.role is role:
        print(f"{username} stays {role.value}; languages: {','.join(languages or current.languages)}")
    elif current.staff.role is Role.LAWYER:
        print(f"{username} is now {role.value}; signed out everywhere; left the desk, their cases back in the queue")
    else:
        print(f"{username} is now {role.value}; signed out everywhere")
    return 0


def _show_secret(username: str, secret: str) -> int:
    """The new secret, sealed in the database and shown here once, for the person's authenticator app."""
    from bot.console.totp import provisioning_uri

    print(f"One-time codes are on for {username}; their sessions ended. Add this to their authenticator app")
    print("(scan it as a QR code, or type the secret); it is not shown again:")
    print(provisioning_uri(secret, username))
    print(f"secret: {secret}")
    return 0


async def _tell_people(settings: Settings, engine: AsyncEngine, case_ids: list[int]) -> None:
    """The people whose cases went back are told; stored, so the running server delivers it."""
    if not case_ids:
        return
    from bot.app import create_handoff
    from bot.clock import utc_now
    from bot.console.accounts import tell_people
    from bot.content.loader import load_catalog
    from bot.i18n import Translations

    translations = Translations(settings.pana.locales_dir)
    handoff = create_handoff(settings, engine, load_catalog(settings.pana.content_dir), translations, utc_now)
    await tell_people(handoff.cases, handoff.outbox, translations, case_ids)
