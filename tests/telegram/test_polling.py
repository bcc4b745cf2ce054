"""`pana serve` as a user runs it: only a token set means long polling; a webhook URL registers it."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.core.language import LanguageDetector
from bot.nlu.server import NluServer
from bot.registry import create_telegram
from bot.settings import RasaSettings, TelegramSettings
from tests.conftest import PANA, make_settings
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi, private_message

pytestmark = pytest.mark.asyncio


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *PANA,
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def _env(api: FakeBotApi, rasa: RasaSettings, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RASA_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api.base_url,
        RASA_URL=rasa.base_url,
        RASA_PORT=str(rasa.port),  # a Rasa it starts when the test's is slow to answer: there, never on 5005
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        PANA_PORT=str(_free_port()),
        **extra,
    )
    return env


async def _stop(process: asyncio.subprocess.Process) -> bytes:
    """SIGTERM, as a service manager would; a process still alive after 90 s (even on a loaded machine) is a bug."""
    if process.returncode is None:
        process.terminate()
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        _, stderr = await process.communicate()
        raise AssertionError("pana serve did not stop on SIGTERM:\n" + stderr.decode()[-3000:]) from None
    return stderr


async def test_serve_with_only_a_token_answers_through_long_polling(
    bot_api: FakeBotApi, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    process = await _serve(_env(bot_api, rasa_settings, tmp_path))
    try:
        bot_api.queue_update(private_message(41, "Как получить гражданство Казахстана?", language="ru"))
        sent = await bot_api.wait_for("sendMessage", timeout=150)
    finally:
        stderr = await _stop(process)
    assert "гражданств" in sent[0]["text"].lower(), stderr.decode()[-2000:]
    assert bot_api.sent("deleteWebhook"), "polling starts by removing any webhook"
    assert {c["language_code"] for c in bot_api.sent("setMyCommands") if "language_code" in c} >= {"kk", "ru", "en"}
    assert process.returncode == 0, "SIGTERM stops it cleanly"


async def test_a_stop_right_after_polling_starts_ends_the_polling_before_it_begins(
    bot_api: FakeBotApi, rasa_server: NluServer, rasa_settings: RasaSettings, detector: LanguageDetector, tmp_path: Path
) -> None:
    """SIGTERM while `pana serve` starts: the polling task, not running yet, must never begin after the stop."""
    telegram_settings = TelegramSettings(bot_token=SecretStr(TOKEN), api_base=bot_api.base_url)
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'pana.db'}", rasa_settings)
    settings = settings.model_copy(update={"telegram": telegram_settings})
    app = await create_app(settings, detector=detector)
    try:
        telegram = create_telegram(settings, app)
        await telegram.start()
        async with asyncio.timeout(60):  # no task in between (wait_for's would let the polling task begin first)
            await telegram.stop()  # it polled on, and this waited, until killed
    finally:
        await app.close()
    assert bot_api.sent("deleteWebhook"), "it started: the webhook was removed for polling"
    assert not bot_api.sent("getMe") and not bot_api.sent("getUpdates"), "the polling task never began"


async def test_serve_with_a_webhook_url_registers_it_with_the_secret(
    bot_api: FakeBotApi, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    env = _env(
        bot_api,
        rasa_settings,
        tmp_path,
        TELEGRAM_WEBHOOK_URL="https://pana.example.org",
        TELEGRAM_WEBHOOK_SECRET="abc_DEF-123",
    )
    process = await _serve(env)
    try:
        registered = await bot_api.wait_for("setWebhook", timeout=150)
    finally:
        await _stop(process)
    assert registered[0]["url"] == "https://pana.example.org/telegram/webhook"
    assert registered[0]["secret_token"] == "abc_DEF-123"
    assert not bot_api.sent("getUpdates")


async def test_in_long_polling_a_reply_that_failed_to_send_is_sent_by_the_recovery_sweep(
    bot_api: FakeBotApi, rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    """Telegram never delivers a polled update again: the stored turn is what brings the reply."""
    env = _env(bot_api, rasa_settings, tmp_path, PANA_RECOVERY_GRACE_SECONDS="1", PANA_RECOVERY_INTERVAL_SECONDS="1")
    process = await _serve(env)
    try:
        bot_api.fail_next("sendMessage", status=400)  # refused once, not retried in process
        bot_api.queue_update(private_message(42, "Как получить гражданство Казахстана?", language="ru", chat_id=4242))
        sent = await bot_api.wait_for("sendMessage", count=2, timeout=150)
        await asyncio.sleep(3)  # three more sweeps: none may send it again
    finally:
        stderr = await _stop(process)
    to_person = [m for m in bot_api.sent() if int(m["chat_id"]) == 4242]
    assert len(to_person) == 2, "the refused attempt, then the one the sweep made; never a third"
    assert to_person[0]["text"] == to_person[1]["text"] and "гражданств" in sent[1]["text"].lower()
    assert "answered by the recovery sweep" in stderr.decode(), stderr.decode()[-2000:]
