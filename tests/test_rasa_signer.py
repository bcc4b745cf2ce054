"""The Rasa client's headers are signed again only when they would change (bot/nlu/auth.py: RequestSigner)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.nlu.auth import JWT_LIFETIME_SECONDS, RequestSigner, new_server_secret, secret_file
from bot.settings import RasaSettings

pytestmark = pytest.mark.fast  # no Rasa, no database, no network


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _claims(headers: dict[str, str], secret: str) -> dict[str, Any]:
    """The token's claims, after checking it is signed with `secret`."""
    token = headers["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected, "signed with another secret"
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


@pytest.fixture
def settings(tmp_path: Path) -> RasaSettings:
    return RasaSettings(host="127.0.0.1", port=5999, url="http://127.0.0.1:5999", secrets_dir=tmp_path)


def test_a_token_is_reused_until_half_its_lifetime_then_signed_anew(settings: RasaSettings) -> None:
    secret = new_server_secret(settings)
    clock = Clock()
    signer = RequestSigner(settings, clock)
    first = signer.headers()
    clock.now += JWT_LIFETIME_SECONDS / 2 - 1
    assert signer.headers() == first  # not re-signed per request
    assert _claims(first, secret)["exp"] - clock.now > JWT_LIFETIME_SECONDS / 2 - 1 - 1e-9
    clock.now += 1
    renewed = signer.headers()
    assert renewed != first
    assert _claims(renewed, secret)["iat"] == int(clock.now)
    assert _claims(renewed, secret)["exp"] == int(clock.now) + JWT_LIFETIME_SECONDS


def test_a_restarted_server_s_new_secret_is_used_at_once(settings: RasaSettings) -> None:
    clock = Clock()
    signer = RequestSigner(settings, clock)
    old = new_server_secret(settings)
    _claims(signer.headers(), old)
    new = new_server_secret(settings)  # what the next `pana nlu serve` writes
    _claims(signer.headers(), new)


def test_no_secret_file_means_no_header_until_one_appears(settings: RasaSettings) -> None:
    signer = RequestSigner(settings, Clock())
    assert signer.headers() == {}
    secret = new_server_secret(settings)
    _claims(signer.headers(), secret)
    secret_file(settings).unlink()
    assert signer.headers() == {}


def test_a_clock_set_back_signs_again(settings: RasaSettings) -> None:
    secret = new_server_secret(settings)
    clock = Clock()
    signer = RequestSigner(settings, clock)
    signer.headers()
    clock.now -= 3600
    assert _claims(signer.headers(), secret)["iat"] == int(clock.now)  # never a token issued in the future


def test_rasa_token_is_signed_with_and_reused(settings: RasaSettings) -> None:
    configured = settings.model_copy(update={"token": SecretStr("configured-secret")})
    clock = Clock()
    signer = RequestSigner(configured, clock)
    first = signer.headers()
    _claims(first, "configured-secret")
    clock.now += 10
    assert signer.headers() == first
