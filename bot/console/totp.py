"""One-time codes for the second sign-in step (RFC 6238 TOTP: HMAC-SHA1, 30-second steps, 6 digits).

Written on the standard library: the algorithm is a dozen lines, and every authenticator app speaks it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
TOLERANCE = 1  # steps either side: a phone clock a little off, or a code typed as it changed
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA1


def new_secret() -> str:
    """A random secret in base32 without padding: what authenticator apps expect to be typed or scanned."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def step_at(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_for(secret: str, step: int) -> str:
    """RFC 4226 HOTP of the step (RFC 6238 is HOTP with the step as the counter)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), "sha1").digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, moment: dt.datetime) -> int | None:
    """The step whose code this is (within the tolerance), or None. Every candidate is compared in full,
    in constant time, so the answer's timing says nothing about which digits were right."""
    given = "".join(code.split())
    if len(given) != DIGITS or not given.isdigit():
        return None
    now = step_at(moment)
    found = None
    for step in range(now - TOLERANCE, now + TOLERANCE + 1):
        if hmac.compare_digest(code_for(secret, step), given) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, username: str, issuer: str = "Pana console") -> str:
    """The otpauth:// address an authenticator app reads from a QR code or a link."""
    label = quote(f"{issuer}:{username}", safe=":")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
