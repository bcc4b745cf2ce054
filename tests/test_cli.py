"""The `pana` commands as a user runs them: chat --jsonl, classify, content show/export."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bot.nlu.server import NluServer
from bot.settings import RasaSettings
from tests.conftest import PANA


def _env(rasa: RasaSettings, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RASA_"))}
    env.update(RASA_URL=rasa.base_url, DATABASE_URL=f"sqlite:///{tmp_path / 'chat.db'}")
    return env


async def test_chat_jsonl_answers_each_language_from_the_right_topic(
    rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    lines = [
        "сәлем",
        "Қазақстан азаматтығын қалай алуға болады?",
        "Как зарегистрировать рождение ребёнка?",
        "How do I apply for asylum in Kazakhstan?",
    ]
    done = subprocess.run(
        [*PANA, "chat", "--jsonl"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=_env(rasa_settings, tmp_path),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert set(replies[0]) == {"language", "intent", "confidence", "topic", "text", "options", "handoff"}
    firsts = []
    for reply in replies:
        if not firsts or reply["intent"] != firsts[-1]["intent"] or reply["topic"] != firsts[-1]["topic"]:
            firsts.append(reply)
    got = [(r["language"], r["intent"], r["topic"]) for r in firsts]
    assert got == [
        ("kk", "greet", None),
        ("kk", "citizenship_naturalization", "citizenship_naturalization"),
        ("ru", "birth_registration", "birth_registration"),
        ("en", "asylum_apply", "asylum_apply"),
    ]
    assert all(isinstance(o["label"], str) and isinstance(o["payload"], str) for o in replies[0]["options"])
    assert (tmp_path / "chat.db").exists()


async def test_chat_jsonl_number_picks_an_option(
    rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*PANA, "chat", "--jsonl"],
        input="hello\n1\n",
        capture_output=True,
        text=True,
        env=_env(rasa_settings, tmp_path),
        timeout=120,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    first_option = replies[0]["options"][0]
    assert first_option["payload"].startswith("menu:")
    assert replies[1]["text"].startswith(first_option["label"])


async def test_classify_prints_one_json_object_per_line_and_stores_nothing(
    rasa_server: NluServer, rasa_settings: RasaSettings, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*PANA, "classify"],
        input="сәлем\nмне нужен юрист\n",
        capture_output=True,
        text=True,
        env=_env(rasa_settings, tmp_path),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["сәлем", "мне нужен юрист"]
    assert rows[0]["language"] == "kk" and rows[0]["intent"] == "greet"
    assert rows[1]["language"] == "ru" and rows[1]["intent"] == "request_lawyer"
    assert set(rows[0]) == {"text", "language", "intent", "confidence", "ranking"}
    assert not (tmp_path / "chat.db").exists()


def test_content_show_and_export() -> None:
    shown = subprocess.run([*PANA, "content", "show", "asylum_apply", "--lang", "kk"], capture_output=True, text=True)
    assert shown.returncode == 0
    assert "Бұл — жалпы ақпарат" in shown.stdout
    exported = subprocess.run([*PANA, "content", "export", "--json"], capture_output=True, text=True)
    entries = json.loads(exported.stdout)
    assert {e["id"] for e in entries} >= {"asylum_apply", "emergency"}
    assert all({"text", "followups", "sources", "reviewed_on", "review_by"} <= set(e) for e in entries)
