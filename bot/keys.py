"""Encryption at rest: the key list, authenticated encryption of texts, keyed hashes for lookups.

Every listed key reads; the first one writes (rotation: put a new key first, run `pana keys rotate`, then drop
the old one). From each master key two sub-keys are derived with HKDF, so the key that encrypts never also
hashes: an AES-256-GCM key for texts and an HMAC-SHA256 key for the lookup hashes of phone numbers and chat ids.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.private_files import FILE_MODE, private_dir

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_BYTES = 4
PREFIX = "s1."  # sealed, format 1: base64url(key id | nonce | ciphertext and tag)
KEY_FILE = "encryption.keys"


class KeyringError(ValueError):
    """A key list that cannot be used, or a sealed value no listed key opens."""


def _derive(master: bytes, purpose: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=b"pana/" + purpose).derive(master)


class _Key:
    def __init__(self, master: bytes) -> None:
        if len(master) != KEY_BYTES:
            raise KeyringError(f"an encryption key must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
        self.id = _derive(master, b"key-id", KEY_ID_BYTES)
        self.aead = AESGCM(_derive(master, b"seal"))
        self.lookup = _derive(master, b"lookup")


class Keyring:
    """The listed keys, the first one current. Its repr never shows a key."""

    def __init__(self, masters: Sequence[bytes]) -> None:
        if not masters:
            raise KeyringError("at least one encryption key is needed")
        self._keys = [_Key(master) for master in masters]
        self._by_id = {key.id: key for key in reversed(self._keys)}

    @classmethod
    def parse(cls, listed: str) -> Keyring:
        """`PANA_ENCRYPTION_KEYS`: comma-separated base64 keys, the newest first."""
        masters = []
        for part in (item.strip() for item in listed.split(",")):
            if not part:
                continue
            try:
                masters.append(base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=False))
            except (binascii.Error, ValueError) as error:
                raise KeyringError("PANA_ENCRYPTION_KEYS holds a value that is not base64") from error
        return cls(masters)

    def __repr__(self) -> str:
        return f"Keyring({len(self._keys)} keys)"

    def seal(self, text: str) -> str:
        key = self._keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.aead.encrypt(nonce, text.encode("utf-8"), None)
        return PREFIX + base64.urlsafe_b64encode(key.id + nonce + sealed).decode("ascii")

    def open(self, token: str) -> str:
        if not token.startswith(PREFIX):
            raise KeyringError("a stored value is not sealed (was migration 0007 applied?)")
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
        key = self._by_id.get(raw[:KEY_ID_BYTES])
        if key is None:
            raise KeyringError("a stored value was sealed with a key that is not listed in PANA_ENCRYPTION_KEYS")
        body = raw[KEY_ID_BYTES:]
        try:
            return key.aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], None).decode("utf-8")
        except InvalidTag as error:
            raise KeyringError("a stored value failed authentication: altered, or sealed with another key") from error

    def sealed_with_current(self, token: str) -> bool:
        """True when the value needs no re-encryption by a rotation."""
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
        return raw[:KEY_ID_BYTES] == self._keys[0].id

    def blind(self, value: str) -> str:
        """The keyed hash stored and indexed instead of a phone number or chat id (hex HMAC-SHA256)."""
        return hmac.new(self._keys[0].lookup, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def blinds(self, value: str) -> tuple[str, ...]:
        """The value's hash under every listed key: lookups still find rows written before a rotation."""
        return tuple(hmac.new(key.lookup, value.encode("utf-8"), hashlib.sha256).hexdigest() for key in self._keys)


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def load_keyring(listed: str | None, var_dir: Path) -> Keyring:
    """The configured keys; on a laptop with none, a key file under `var_dir` (0600), generated once."""
    if listed and listed.strip():
        return Keyring.parse(listed)
    path = var_dir / KEY_FILE
    if not path.exists():
        private_dir(var_dir)
        draft = path.with_name(f".{path.name}.{os.urandom(8).hex()}")
        descriptor = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(new_key() + "\n")
        try:
            os.link(draft, path)  # whole or not at all, and only one process's key wins
            log.warning(
                "PANA_ENCRYPTION_KEYS is not set: generated an encryption key in %s (0600). Back it up: without "
                "it the stored conversations cannot be read. In production set PANA_ENCRYPTION_KEYS.",
                path,
            )
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    path.chmod(FILE_MODE)
    return Keyring.parse(path.read_text(encoding="ascii").replace("\n", ","))
