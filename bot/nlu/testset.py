"""The held-out evaluation set in nlu/tests/: never trained on."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from bot.languages import LANGUAGES


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


# Cyrillic letters and the Latin look-alikes a mixed keyboard types instead.
_LOOKALIKES = str.maketrans({"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i"})
_EMOJI = ("🙏", "😢", "!!!", "🆘", "??")


def noisy(examples: list[Example], seed: int = 7) -> list[Example]:
    """The held-out set as typed in a hurry: look-alike Latin letters, letter floods, emoji, capitals.

    Deterministic (seeded), so `pana nlu test --noisy` with and without `--no-normalize` measures
    what normalisation buys on such input.
    """
    rng = random.Random(seed)
    return [replace(e, text=_roughen(e.text, rng)) for e in examples]


def _roughen(text: str, rng: random.Random) -> str:
    words = text.split()
    if not words:
        return text
    i = rng.randrange(len(words))
    words[i] = words[i].translate(_LOOKALIKES)  # one word typed on the other keyboard
    last = words[-1].rstrip("?!.")
    if last:
        words[-1] = last + last[-1] * 4  # "помогитеееее"
    roughened = " ".join(words) + " " + rng.choice(_EMOJI)
    return roughened.upper() if rng.random() < 0.2 else roughened
