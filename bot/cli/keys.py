"""`pana keys`: make a new encryption key, re-encrypt everything with the first listed key."""

from __future__ import annotations

import argparse

from bot.settings import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = commands.add_parser("keys", help="encryption keys").add_subparsers(dest="keys_command", required=True)
    keys.add_parser("new", help="print a new random key for PANA_ENCRYPTION_KEYS")
    keys.add_parser("rotate", help="re-encrypt every stored text with the first key (run with Pana stopped)")


async def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    from bot.keys import new_key

    if args.keys_command == "new":
        print(new_key())
        return 0
    from bot.app import create_keyring
    from bot.storage.database import create_engine, migrate
    from bot.storage.rotation import rotate

    engine = create_engine(settings.database, create_keyring(settings))
    try:
        await migrate(engine)
        done = await rotate(engine)
    finally:
        await engine.dispose()
    print(f"re-encrypted {done.rows} rows in {done.tables} tables with the first key; older keys can go now")
    return 0
