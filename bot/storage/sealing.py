"""Encrypted columns: a text is sealed when it is bound and opened when it is read, so repositories use
clear values and the database only ever sees ciphertext.

The engine carries its keyring (attached by `create_engine`), so every value is sealed with the keys of the
database it is written to. A sealed column cannot be compared in SQL (every sealing differs): rows are found
through a keyed-hash column (`LookupHash`) instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.types import TypeDecorator

from bot.keys import Keyring

_ATTRIBUTE = "pana_keyring"
HASH_LENGTH = 64  # hex HMAC-SHA256, see Keyring.blind


def attach_keyring(engine: AsyncEngine, keyring: Keyring) -> None:
    setattr(engine.sync_engine.dialect, _ATTRIBUTE, keyring)


def dialect_keyring(dialect: Dialect) -> Keyring:
    keyring = getattr(dialect, _ATTRIBUTE, None)
    if not isinstance(keyring, Keyring):
        raise RuntimeError("this engine has no keyring: create it with bot.storage.database.create_engine")
    return keyring


def session_keyring(session: AsyncSession) -> Keyring:
    return dialect_keyring(session.get_bind().dialect)


class Sealed(TypeDecorator[str]):
    """A text stored encrypted (AES-256-GCM, see bot/keys.py)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dialect_keyring(dialect).seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dialect_keyring(dialect).open(value)
