"""Secrets stay secret: no credential in a repr, a random webhook secret only in webhook mode, private files."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.core.conversation import clean_text
from bot.logs import install_redaction, uninstall_redaction
from bot.private_files import stored_secret
from bot.registry import telegram_webhook_secret
from bot.settings import DatabaseSettings, PanaSettings, RedisSettings, TelegramSettings, load_settings
from bot.storage.database import create_engine, migrate
from tests.keys import TEST_KEYRING

SECRETS = {
    "DATABASE_URL": "postgresql://pana:db-pass-9f3k@127.0.0.1:5432/pana",
    "REDIS_URL": "redis://:redis-pass-2k9d@127.0.0.1:6379/0",
    "RASA_TOKEN": "rasa-secret-7h2j",
    "TELEGRAM_BOT_TOKEN": "123456:telegram-secret-8s7d",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-1q2w",
    "TWILIO_AUTH_TOKEN": "twilio-secret-5t6y",
}
PASSWORDS = tuple(value.rsplit("@")[0].rsplit(":")[-1] for value in SECRETS.values())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_secret_in_any_repr_or_log_line(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.database.url.get_secret_value().startswith("postgresql+asyncpg://pana:db-pass-9f3k@")
    assert settings.redis.url_value() == SECRETS["REDIS_URL"]
    install_redaction()
    try:
        caplog.set_level(logging.INFO)
        logging.getLogger("bot.test").info("settings at start: %s / %r", settings, settings)
        logging.getLogger("bot.test").info("connecting to %s", SECRETS["DATABASE_URL"])  # a careless line
    finally:
        uninstall_redaction()
    shown = "\n".join([repr(settings), str(settings), settings.model_dump_json(), caplog.text])
    assert not [p for p in PASSWORDS if p in shown]


def test_database_echo_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_ECHO", "true")
    with pytest.raises(ValidationError, match="DATABASE_ECHO"):
        load_settings()
    monkeypatch.setenv("PANA_ENVIRONMENT", "development")
    assert load_settings().database.echo


def test_webhook_secret_is_random_stored_0600_and_absent_in_polling(tmp_path: Path) -> None:
    base = load_settings()
    token = TelegramSettings(bot_token=SecretStr("123456:telegram-secret-8s7d"))
    polling = base.model_copy(update={"telegram": token, "pana": PanaSettings(var_dir=tmp_path / "var")})
    assert telegram_webhook_secret(polling) is None, "long polling has no webhook route"
    webhook = polling.model_copy(
        update={"telegram": token.model_copy(update={"webhook_url": "https://pana.example.org"})}
    )
    first = telegram_webhook_secret(webhook)
    assert first is not None and len(first) >= 32
    assert telegram_webhook_secret(webhook) == first, "every process and restart agrees on it"
    assert "telegram-secret-8s7d" not in first
    stored = tmp_path / "var" / "telegram-webhook.secret"
    assert (_mode(stored), _mode(stored.parent)) == (0o600, 0o700)
    other = polling.model_copy(
        update={
            "telegram": token.model_copy(update={"webhook_url": "https://pana.example.org"}),
            "pana": PanaSettings(var_dir=tmp_path / "elsewhere"),
        }
    )
    assert telegram_webhook_secret(other) != first, "random, not derived from the token"
    configured = webhook.model_copy(
        update={"telegram": webhook.telegram.model_copy(update={"webhook_secret": SecretStr("set-by-admin")})}
    )
    assert telegram_webhook_secret(configured) == "set-by-admin"


def test_stored_secret_tightens_a_loose_file(tmp_path: Path) -> None:
    path = tmp_path / "s.secret"
    value = stored_secret(path)
    path.chmod(0o644)
    assert stored_secret(path) == value and _mode(path) == 0o600


async def test_sqlite_file_and_its_journal_are_private(tmp_path: Path) -> None:
    database = tmp_path / "new" / "pana.db"
    previous = os.umask(0o022)  # the usual umask: files 0644 unless Pana says otherwise
    try:
        engine = create_engine(DatabaseSettings(url=f"sqlite:///{database}"), TEST_KEYRING)
        await migrate(engine)
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
            wal = database.with_name("pana.db-wal")
            assert wal.exists() and _mode(wal) == 0o600
        await engine.dispose()
    finally:
        os.umask(previous)
    assert (_mode(database), _mode(database.parent)) == (0o600, 0o700)


def test_redis_url_is_a_secret() -> None:
    shown = repr(RedisSettings(url=SecretStr("redis://:redis-pass-2k9d@127.0.0.1:6379/0")))
    assert "redis-pass-2k9d" not in shown


@pytest.mark.parametrize(
    "text",
    [
        "می\u200cخواهم پناهنده شوم",  # Persian "I want to become a refugee": ZWNJ is spelling
        "👩\u200d👧 family",  # ZWJ joins an emoji sequence
    ],
)
def test_clean_text_keeps_zero_width_joiners(text: str) -> None:
    assert clean_text(text + "\u0000", 100) == text


def test_clean_text_still_drops_other_controls() -> None:
    assert clean_text("a\u0000b\u202ec\u200cd", 100) == "abc\u200cd"
