"""The core stays channel-neutral: it imports no channel SDK, HTTP client or database library."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN_IN_CORE = (
    "aiogram",
    "twilio",
    "aiohttp",
    "httpx",
    "requests",
    "sqlalchemy",
    "redis",
    "bot.channels",
    "bot.storage",
    "bot.nlu",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_imports_no_sdk_or_infrastructure() -> None:
    for path in (REPO / "bot" / "core").rglob("*.py"):
        bad = {name for name in _imports(path) if name.startswith(FORBIDDEN_IN_CORE)}
        assert not bad, f"{path.name} imports {bad}"


def test_channels_do_not_reach_into_storage_or_nlu() -> None:
    for path in (REPO / "bot" / "channels").rglob("*.py"):
        bad = {n for n in _imports(path) if n.startswith(("bot.storage", "bot.nlu", "sqlalchemy", "bot.content"))}
        assert not bad, f"{path.name} imports {bad}"
