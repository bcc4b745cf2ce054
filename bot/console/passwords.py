"""Passwords hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).

Hashing costs tens of milliseconds of CPU on purpose, so it runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name takes as long as a wrong password. Written out
# rather than hashed at import (~0.3 s of CPU in every CLI command); made with the hasher's parameters, which a
# test holds it to, so verifying it costs what verifying a real hash does.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bLkpIyt+X/PnSkRc6oiGaA$bDoDk/26gjfW9vQIc7jFgaTRLRRMp3qUEi98dUdPWxs"


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"use at least {MIN_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored` (None: an unknown account, checked anyway for equal timing)."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


async def hash_in_thread(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)
