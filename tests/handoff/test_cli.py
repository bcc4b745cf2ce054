"""`pana lawyers add|list|remove` as an administrator runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import PANA


def _pana(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "LAWYER_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'lawyers.db'}"
    return subprocess.run([*PANA, "lawyers", *args], capture_output=True, text=True, env=env, timeout=60)


def test_lawyers_are_added_listed_and_removed(tmp_path: Path) -> None:
    added = _pana(tmp_path, "add", "--telegram-id", "5001", "--name", "Aigerim", "--languages", "kk,ru")
    assert added.returncode == 0, added.stderr
    assert "Aigerim" in added.stdout and "Start" in added.stdout
    assert _pana(tmp_path, "add", "--telegram-id", "5002", "--name", "Dana", "--languages", "ru").returncode == 0
    assert _pana(tmp_path, "list").stdout.splitlines() == ["5001\tAigerim\tkk,ru\tactive", "5002\tDana\tru\tactive"]

    removed = _pana(tmp_path, "remove", "--telegram-id", "5001")
    assert removed.returncode == 0 and "Aigerim" in removed.stdout
    assert "5001\tAigerim\tkk,ru\tinactive" in _pana(tmp_path, "list").stdout

    again = _pana(tmp_path, "add", "--telegram-id", "5001", "--name", "Aigerim S.", "--languages", "ru")
    assert again.returncode == 0
    assert "5001\tAigerim S.\tru\tactive" in _pana(tmp_path, "list").stdout, "re-adding updates and reactivates"


def test_wrong_input_is_refused(tmp_path: Path) -> None:
    bad_language = _pana(tmp_path, "add", "--telegram-id", "5001", "--name", "A", "--languages", "kk,uz")
    assert bad_language.returncode == 2 and "kk, ru, en" in bad_language.stderr
    unknown = _pana(tmp_path, "remove", "--telegram-id", "42")
    assert unknown.returncode == 1 and "no lawyer" in unknown.stderr
