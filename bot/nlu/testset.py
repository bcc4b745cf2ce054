"""The held-out evaluation set in nlu/tests/: never trained on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.messages import LANGUAGES


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    language: str
    style: str


def load_test_set(folder: Path) -> list[Example]:
    examples: list[Example] = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = data["language"]
        if language not in LANGUAGES:
            raise ValueError(f"{path.name}: unknown language {language!r}")
        for intent, styles in data["intents"].items():
            for style, texts in styles.items():
                examples.extend(Example(str(t), intent, language, style) for t in texts or ())
    return examples
