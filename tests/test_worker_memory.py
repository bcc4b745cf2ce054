"""What a `pana serve` worker keeps in memory: only what serving uses (issue 15; docs/performance.md).

Each check runs in a fresh interpreter, since what one test imports would hide what another one needs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PANA, REPO
from tests.keys import TEST_KEY

# Builds what `pana serve --as-worker` builds (the app without migrating, every configured channel), serves
# nothing, and reports the modules loaded and which of aiogram's models were built.
WORKER_PROBE = """
import asyncio, json, sys
from bot.app import create_app
from bot.registry import create_channels
from bot.settings import load_settings

async def build():
    settings = load_settings()
    app = await create_app(settings, migrate_schema=False)
    try:
        return [channel.name for channel in create_channels(settings, app)]
    finally:
        await app.close()

channels = asyncio.run(build())
import aiogram.methods, aiogram.types
def built(module):
    models = [getattr(module, name) for name in module.__all__]
    return sorted(m.__name__ for m in models if getattr(m, "__pydantic_complete__", False))
print(json.dumps({
    "channels": channels,
    "modules": sorted(sys.modules),
    "types": len(aiogram.types.__all__),
    "built_types": built(aiogram.types),
    "built_methods": built(aiogram.methods),
}))
"""

NEVER_IN_A_WORKER = (
    *("alembic", "mako", "jinja2", "bot.console", "bot.cli.nlu", "matplotlib", "bench"),
    *("twilio.rest", "requests", "urllib3"),  # two Twilio calls go over aiohttp (bot/channels/whatsapp/api.py)
)


def _run(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=REPO, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _worker_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANA_", "TELEGRAM_", "TWILIO_", "REDIS_"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}",
        PANA_VAR_DIR=str(tmp_path / "var"),
        PANA_ENCRYPTION_KEYS=TEST_KEY,
        PANA_PUBLIC_URL="http://127.0.0.1:9",
        PANA_CONSOLE="0",
        RASA_URL="http://127.0.0.1:9",  # never called: nothing is served
        TELEGRAM_BOT_TOKEN="123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        TELEGRAM_API_BASE="http://127.0.0.1:9",
        TELEGRAM_WEBHOOK_URL="http://127.0.0.1:9",
        TELEGRAM_WEBHOOK_SECRET="worker-secret_1",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="worker-token",
        TWILIO_WHATSAPP_FROM="+10000000000",
        TWILIO_API_BASE="http://127.0.0.1:9",
    )
    return env


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(_run(WORKER_PROBE, _worker_environment(tmp_path_factory.mktemp("worker"))))
    return found


def test_a_worker_with_the_console_off_loads_no_console_migration_or_bench(worker: dict[str, Any]) -> None:
    assert worker["channels"] == ["telegram", "whatsapp"]
    loaded = [m for m in worker["modules"] if m.startswith(NEVER_IN_A_WORKER)]
    assert not loaded


def test_a_worker_builds_only_the_telegram_models_a_turn_uses(worker: dict[str, Any]) -> None:
    """aiogram's ~300 types and ~170 methods cost ~125 MB built eagerly; a worker builds what a turn uses."""
    assert {"Update", "CallbackQuery"} <= set(worker["built_types"])
    assert "Message" not in worker["built_types"]  # met nested only; its own validator is 2.9 MB
    assert {"SendMessage", "AnswerCallbackQuery"} <= set(worker["built_methods"])
    assert len(worker["built_types"]) < worker["types"] // 10
    assert len(worker["built_methods"]) < 10


def test_every_deferred_telegram_model_builds_when_used() -> None:
    """Each type and method resolves its forward references when built later, alone or nested in another."""
    probe = """
import bot.channels.telegram
from aiogram.methods import Response
from aiogram.types import Message
answer = {"message_id": 5, "date": 1700000000, "chat": {"id": 7, "type": "private"}, "text": "hi",
          "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]}}
# Nested first: Message is built inside Response[Message] before it was ever built on its own.
parsed = Response[Message].model_validate({"ok": True, "result": answer})
assert parsed.result.reply_markup.inline_keyboard[0][0].callback_data == "y"
import aiogram.methods, aiogram.types
from pydantic import BaseModel
count = 0
for module in (aiogram.types, aiogram.methods):
    for name in module.__all__:
        model = getattr(module, name)
        concrete = isinstance(model, type) and issubclass(model, BaseModel)
        if concrete and model.__pydantic_generic_metadata__["origin"] is None:
            model.model_rebuild(raise_errors=True)
            assert model.__pydantic_complete__, name
            count += 1
print(count)
"""
    assert int(_run(probe)) > 400


def test_aiogram_imported_before_pana_stays_as_aiogram_builds_it() -> None:
    """Someone else imported aiogram first: nothing is patched afterwards, its models are whole."""
    probe = "import aiogram.types, bot.channels.telegram; print(aiogram.types.Poll.__pydantic_complete__)"
    assert _run(probe).strip() == "True"


def _migration_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANA_", "DATABASE_", "TELEGRAM_", "TWILIO_"))}
    env.update(DATABASE_URL=database_url, PANA_VAR_DIR=str(tmp_path / "var"), PANA_ENCRYPTION_KEYS=TEST_KEY)
    return env


def test_the_migration_of_pana_serve_runs_in_a_child_that_brings_the_schema_to_head(tmp_path: Path) -> None:
    """`pana serve` migrates through `pana serve --migrate-only`, so Alembic never loads where it serves."""
    database = tmp_path / "serve.db"
    env = _migration_environment(tmp_path, f"sqlite+aiosqlite:///{database}")
    done = subprocess.run(
        [*PANA, "serve", "--migrate-only"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    heads = _run(
        "from alembic.script import ScriptDirectory; from bot.storage.database import alembic_config; "
        "print(ScriptDirectory.from_config(alembic_config()).get_current_head())"
    ).strip()
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(heads,)]


def test_pana_serve_does_not_start_when_its_migration_fails(tmp_path: Path) -> None:
    env = _migration_environment(tmp_path, "postgresql+asyncpg://postgres@127.0.0.1:1/none")  # nothing listens there
    env["RASA_URL"] = f"http://127.0.0.1:{os.environ.get('PANA_TEST_RASA_PORT', '5077')}"  # never the default port
    # Its own session: were it to start serving after all, the whole group (Rasa included) is stopped below.
    process = subprocess.Popen(
        [*PANA, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, errors = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError("pana serve started although its migration failed") from None
    assert process.returncode == 2
    assert "the database migration failed" in errors
