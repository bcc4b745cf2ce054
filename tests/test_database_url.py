"""DATABASE_URL as people write it: empty, plain driver names, or what SQLAlchemy expects."""

from __future__ import annotations

import pytest

from bot.settings import DatabaseSettings

pytestmark = pytest.mark.fast


def _url(monkeypatch: pytest.MonkeyPatch, value: str) -> str:
    monkeypatch.setenv("DATABASE_URL", value)
    return DatabaseSettings().url.get_secret_value()


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_url_means_the_sqlite_file(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    default = DatabaseSettings().url.get_secret_value()
    assert default.startswith("sqlite+aiosqlite:///") and default.endswith("pana.db")
    assert _url(monkeypatch, value) == default


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgres://u@127.0.0.1/pana", "postgresql+asyncpg://u@127.0.0.1/pana"),
        ("postgresql://u@127.0.0.1/pana", "postgresql+asyncpg://u@127.0.0.1/pana"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ("postgresql+asyncpg://u@127.0.0.1/pana", "postgresql+asyncpg://u@127.0.0.1/pana"),
    ],
)
def test_plain_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    assert _url(monkeypatch, value) == expected
