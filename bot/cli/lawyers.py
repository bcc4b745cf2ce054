"""`pana lawyers add|list|remove`: an administrator registers the lawyers who may see and take cases."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.languages import LANGUAGES, Language
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.handoff.desk import LawyerDesk


def languages(value: str) -> tuple[Language, ...]:
    """argparse type for "kk,ru": known codes, at least one; the first is the one Pana writes to them in."""
    codes = tuple(code.strip().lower() for code in value.split(",") if code.strip())
    unknown = [code for code in codes if code not in LANGUAGES]
    if not codes or unknown:
        raise argparse.ArgumentTypeError(f"use a comma-separated list of {', '.join(LANGUAGES)} (got {value!r})")
    return tuple(dict.fromkeys(codes))  # type: ignore[arg-type]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    lawyers = commands.add_parser("lawyers", help="register the lawyers who take cases").add_subparsers(
        dest="lawyers_command", required=True
    )
    add = lawyers.add_parser("add", help="register (or update and reactivate) a lawyer")
    add.add_argument("--telegram-id", type=int, required=True, help="their numeric Telegram user id")
    add.add_argument("--name", required=True, help="shown to people when LAWYER_SHOW_NAME is on")
    add.add_argument("--languages", type=languages, required=True, help="e.g. kk,ru (the first is their UI language)")
    lawyers.add_parser("list", help="every registered lawyer, active or not")
    remove = lawyers.add_parser("remove", help="deactivate a lawyer (kept for the audit trail)")
    remove.add_argument("--telegram-id", type=int, required=True)


async def run_lawyers(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_keyring
    from bot.storage.database import create_engine, migrate, session_factory
    from bot.storage.lawyers import SqlLawyerStore

    engine = create_engine(settings.database, create_keyring(settings))
    try:
        await migrate(engine)
        store = SqlLawyerStore(session_factory(engine))
        if args.lawyers_command == "add":
            lawyer = await store.add(args.telegram_id, args.name.strip(), args.languages)
            codes = ",".join(lawyer.languages)
            print(f"Registered {lawyer.name} (Telegram id {lawyer.telegram_id}, languages {codes})")
            print("They must open a private chat with the bot and press Start so that Pana can write to them.")
            return 0
        if args.lawyers_command == "remove":
            removed = await _desk(settings, engine).remove_lawyer(args.telegram_id)
            if removed is None:
                print(f"pana: no lawyer with Telegram id {args.telegram_id}", file=sys.stderr)
                return 1
            lawyer, returned = removed
            print(f"Deactivated {lawyer.name} (Telegram id {lawyer.telegram_id}); {returned} case(s) back in the queue")
            return 0
        for lawyer in await store.all():
            state = "active" if lawyer.active else "inactive"
            print(f"{lawyer.telegram_id or '-'}\t{lawyer.name}\t{','.join(lawyer.languages)}\t{state}")
        return 0
    finally:
        await engine.dispose()


def _desk(settings: Settings, engine: AsyncEngine) -> LawyerDesk:
    """The lawyers' desk, to tell people whose lawyer was removed (the running server delivers it)."""
    from bot.app import create_handoff
    from bot.clock import utc_now
    from bot.content.loader import load_catalog
    from bot.i18n import Translations

    catalog = load_catalog(settings.pana.content_dir)
    return create_handoff(settings, engine, catalog, Translations(settings.pana.locales_dir), utc_now).desk
