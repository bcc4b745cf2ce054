"""The secret a Rasa server run by Pana accepts, and the `Authorization` header that proves it.

RASA_TOKEN when set (production: the same value reaches `pana serve` and `pana nlu serve`); otherwise a
random secret made at every start of a Rasa server and kept for the other local processes in a 0600 file
under var/, one per port. The secret never travels: requests carry a short-lived HS256 JWT signed with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bot.private_files import FILE_MODE, private_dir
from bot.settings import RasaSettings

JWT_LIFETIME_SECONDS = 300
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def secret_file(settings: RasaSettings) -> Path:
    """One file per port the server listens on, as clients name it (RASA_URL, or RASA_HOST:RASA_PORT)."""
    port = urlsplit(settings.base_url).port or settings.port
    return settings.secrets_dir / f"rasa-{port}.secret"


def new_server_secret(settings: RasaSettings) -> str:
    """The secret for a server about to start: RASA_TOKEN, or a fresh random one written for local clients."""
    if settings.token:
        return settings.token.get_secret_value()
    secret = secrets.token_urlsafe(32)
    path = secret_file(settings)
    private_dir(path.parent)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secret + "\n")
    draft.replace(path)  # atomic: a client reads the old secret or the new one, never half of one
    return secret


def current_secret(settings: RasaSettings) -> str | None:
    """What a client signs with: RASA_TOKEN, or the secret of the server Pana started last on this port."""
    if settings.token:
        return settings.token.get_secret_value()
    try:
        return secret_file(settings).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(secret: str, now: float | None = None) -> str:
    """An HS256 JWT for Rasa's sanic-jwt check: an admin user (every API route), valid for five minutes."""
    issued = int(time.time() if now is None else now)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"user": {"username": "pana", "role": "admin"}, "iat": issued, "exp": issued + JWT_LIFETIME_SECONDS}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def auth_headers(settings: RasaSettings) -> dict[str, str]:
    """`Authorization: Bearer …` for the current secret; empty when there is none (an open server, tests)."""
    secret = current_secret(settings)
    return {"Authorization": f"Bearer {sign_jwt(secret)}"} if secret else {}


class RequestSigner:
    """`Authorization` headers for one Rasa server, signed again only when they would change.

    A request used to read the secret file and sign a new JWT (~30 us of CPU, more under load: ~0.2 ms a
    turn in bench/turn_cpu.py). A token is reused until half its lifetime has passed, so every request still
    carries one valid for at least JWT_LIFETIME_SECONDS / 2; it is signed again at once when the secret
    changes: a restarted server writes a new file (a new inode: `new_server_secret` renames a draft over it),
    and a stat of the file, not a read, tells that. A clock set back also signs again (no `iat` in the future).
    """

    def __init__(self, settings: RasaSettings, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._file = None if settings.token else secret_file(settings)
        self._file_version: tuple[int, int, int] | None = None
        self._secret: str | None = None
        self._signed_at = 0.0
        self._headers: dict[str, str] = {}

    def headers(self) -> dict[str, str]:
        secret = self._current_secret()
        now = self._clock()
        if secret is None:
            return {}
        if secret != self._secret or not self._signed_at <= now < self._signed_at + JWT_LIFETIME_SECONDS / 2:
            self._secret, self._signed_at = secret, now
            self._headers = {"Authorization": f"Bearer {sign_jwt(secret, now)}"}
        return dict(self._headers)

    def _current_secret(self) -> str | None:
        if self._file is None:  # RASA_TOKEN
            return current_secret(self._settings)
        try:
            status = self._file.stat()
        except FileNotFoundError:
            self._file_version = None
            return None
        version = (status.st_ino, status.st_mtime_ns, status.st_size)
        if version != self._file_version:
            self._file_version = version
            self._secret = None  # read, and sign, again
            return current_secret(self._settings)
        return self._secret


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")
