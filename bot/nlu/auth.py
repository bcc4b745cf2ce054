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


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")
