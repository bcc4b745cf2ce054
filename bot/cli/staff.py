"""`pana staff add|list|disable|reset-password|totp`: the accounts of the web console.

Passwords are read from a prompt (or from stdin when it is not a terminal), never from the command line,
where they would stay in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from bot.cli.lawyers import languages
from bot.records.staff import Role
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.storage.staff import SqlStaffStore


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
    staff.add_parser("list", help="every account, active or not")
    disable = staff.add_parser("disable", help="disable an account; its sessions end at once")
    disable.add_argument("--username", required=True)
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


async def run_staff(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_keyring
    from bot.clock import utc_now
    from bot.console.passwords import WeakPassword, hash_in_thread
    from bot.storage.database import create_engine, migrate, session_factory
    from bot.storage.staff import SqlStaffStore, StaffExists

    engine = create_engine(settings.database, create_keyring(settings))
    try:
        await migrate(engine)
        store = SqlStaffStore(session_factory(engine))
        command = args.staff_command
        if command == "list":
            for staff in await store.all():
                state = "active" if staff.active else "disabled"
                lawyer = f"lawyer #{staff.lawyer_id}" if staff.lawyer_id else "-"
                print(f"{staff.username}\t{staff.name}\t{staff.role.value}\t{lawyer}\t{staff.ui_language}\t{state}")
            return 0
        if command == "disable":
            disabled = await store.disable(args.username, utc_now())
            if disabled is None:
                print(f"pana: no account {args.username!r}", file=sys.stderr)
                return 1
            staff, returned = disabled
            await _tell_people(settings, engine, returned)
            print(f"Disabled {staff.username}; signed out everywhere; {len(returned)} case(s) back in the queue")
            return 0
        if command == "totp":
            return await _enrol(store, args.username)
        try:
            password_hash = await hash_in_thread(read_password())
        except WeakPassword as error:
            print(f"pana: {error}", file=sys.stderr)
            return 1
        if command == "reset-password":
            if await store.set_password(args.username, password_hash, utc_now()) is None:
                print(f"pana: no account {args.username!r}", file=sys.stderr)
                return 1
            print(f"New password set for {args.username}; every session of the account ended")
            return 0
        try:
            staff = await store.add(
                username=args.username.strip(),
                name=(args.name or args.username).strip(),
                role=Role(args.role),
                password_hash=password_hash,
                languages=args.languages,
                telegram_id=args.telegram_id,
                now=utc_now(),
            )
        except StaffExists:
            print(f"pana: the username {args.username!r} is taken", file=sys.stderr)
            return 1
        linked = f", lawyer #{staff.lawyer_id}" if staff.lawyer_id else ""
        print(f"Created {staff.username} ({staff.role.value}{linked}). The console is on with PANA_CONSOLE=1.")
        return 0
    finally:
        await engine.dispose()


async def _enrol(store: SqlStaffStore, username: str) -> int:
    """A new secret, sealed in the database and shown here once, for the person's authenticator app."""
    from bot.clock import utc_now
    from bot.console.totp import new_secret, provisioning_uri

    secret = new_secret()
    if await store.enrol_totp(username, secret, utc_now()) is None:
        print(f"pana: no account {username!r}", file=sys.stderr)
        return 1
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
    from bot.content.loader import load_catalog
    from bot.handoff import notices
    from bot.i18n import Translations, bound
    from bot.records.cases import RelayKind

    translations = Translations(settings.pana.locales_dir)
    handoff = create_handoff(settings, engine, load_catalog(settings.pana.content_dir), translations, utc_now)
    for case_id in case_ids:
        case = await handoff.cases.get(case_id)
        if case is not None:
            text = notices.back_in_queue(bound(translations, case.language), case_id)
            await handoff.outbox.to_user(case, RelayKind.NOTICE, text)
