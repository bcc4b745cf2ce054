"""The Rasa server Pana runs accepts only Pana: a per-start secret, a signed header, no secret in ps or URLs,
none of Pana's environment."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import aiohttp
import pytest

from bot.cli.nlu import run_nlu
from bot.errors import NluProjectError
from bot.nlu.auth import auth_headers, current_secret, secret_file, sign_jwt
from bot.nlu.project import INHERITED, RasaProject
from bot.nlu.server import NluServer
from bot.settings import RasaSettings, load_settings

RASA_OWN = {
    "RASA_TELEMETRY_ENABLED",
    "TF_CPP_MIN_LOG_LEVEL",
    "PYTHONHASHSEED",
    "RASA_CACHE_DIRECTORY",
    "SQLALCHEMY_SILENCE_UBER_WARNING",
}


async def _status(settings: RasaSettings, **request: object) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{settings.base_url}/status", **request) as response:  # type: ignore[arg-type]
        return response.status


async def test_api_refuses_requests_without_pana_signature(rasa_server: NluServer, rasa_settings: RasaSettings) -> None:
    secret = current_secret(rasa_settings)
    assert secret, "a Rasa server Pana runs always has a secret"
    assert await _status(rasa_settings, headers=auth_headers(rasa_settings)) == 200
    assert await _status(rasa_settings) == 401
    assert await _status(rasa_settings, params={"token": secret}) == 401, "no ?token= in URLs"
    assert await _status(rasa_settings, headers={"Authorization": f"Bearer {sign_jwt('guessed')}"}) == 401
    expired = sign_jwt(secret, now=time.time() - 3600)
    assert await _status(rasa_settings, headers={"Authorization": f"Bearer {expired}"}) == 401
    async with aiohttp.ClientSession() as session:
        async with session.delete(f"{rasa_settings.base_url}/model") as response:
            assert response.status == 401, "nobody else may unload the model"
        async with session.put(f"{rasa_settings.base_url}/model", json={"model_file": "/tmp/x.tar.gz"}) as response:
            assert response.status == 401, "nor load a crafted one"


async def test_secret_is_not_on_the_command_line_and_rasa_gets_no_pana_secrets(
    rasa_server: NluServer, rasa_settings: RasaSettings
) -> None:
    if rasa_server._process is None:
        pytest.skip("the Rasa server was started outside this test session")
    secret = current_secret(rasa_settings)
    assert secret
    proc = Path("/proc") / str(rasa_server._process.pid)
    command_line = (proc / "cmdline").read_bytes().decode()
    assert "--enable-api" in command_line and secret not in command_line and "--auth-token" not in command_line
    environment = dict(
        entry.split("=", 1) for entry in (proc / "environ").read_bytes().decode().split("\0") if "=" in entry
    )
    assert set(environment) <= set(INHERITED) | RASA_OWN
    assert secret not in "".join(environment.values())
    path = secret_file(rasa_settings)
    assert path.stat().st_mode & 0o777 == 0o600


def test_environment_is_a_whitelist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h/d")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = RasaProject(Path("nlu")).environment()
    assert "TELEGRAM_BOT_TOKEN" not in env and "DATABASE_URL" not in env
    assert env["LANG"] == "C.UTF-8" and env["RASA_TELEMETRY_ENABLED"] == "false"


def test_serve_refuses_a_public_host_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_HOST", "0.0.0.0")
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    with pytest.raises(NluProjectError, match="RASA_TOKEN"):
        run_nlu(argparse.Namespace(nlu_command="serve", replicas=1), load_settings())


def test_configured_token_is_the_secret(tmp_path: Path) -> None:
    settings = RasaSettings(token="from-the-environment", secrets_dir=tmp_path)  # type: ignore[arg-type]
    assert current_secret(settings) == "from-the-environment"
    assert not secret_file(settings).exists(), "nothing written when the operator chose the secret"
