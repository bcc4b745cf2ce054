"""The evaluation sets: the held-out set in nlu/tests/ (never trained on) and others in nlu/eval/."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from bot.errors import NluProjectError
from bot.languages import LANGUAGES

# `pana nlu test --set held-out` (the default): the set the floors in nlu/floors.yml are measured on.
HELD_OUT = "held-out"

# The writing styles a held-out row may be tagged with; `pana nlu test` reports each one.
STYLES: dict[str, str] = {
    "standard": "plainly written, with the language's own letters",
    "no_special": "Kazakh typed on a Russian keyboard, without ә ғ қ ң ө ұ ү һ і",
    "latin": "Kazakh or Russian in Latin transliteration",
    "mixed": "Kazakh and Russian (or English) in one message",
    "short": "a one- or two-word fragment",
    "typo": "misspelt, typed in a hurry",
    "long": "a story of 2-4 sentences with the question at the end",
    "heading": "phrased as a public FAQ heading or help-page title",
    "arrival": "just arrived, no status, afraid of being sent back: gold asylum_apply",
}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    language: str
    style: str


def evaluation_folder(nlu_root: Path, choice: str | None = None) -> Path:
    """The folder `--set` names: the held-out set (default), a set by name in nlu/eval/, or any folder."""
    if not choice or choice == HELD_OUT:
        return nlu_root / "tests"
    named = nlu_root / "eval" / choice
    if "/" not in choice and named.is_dir():
        return named
    folder = Path(choice).expanduser()
    if folder.is_dir() and any(folder.glob("*.yml")):
        return folder
    known = sorted(p.name for p in (nlu_root / "eval").glob("*") if p.is_dir())
    raise NluProjectError(
        f"no evaluation set {choice!r}: give one of {', '.join([HELD_OUT, *known])} or a folder of *.yml files"
    )


def load_test_set(folder: Path) -> list[Example]:
    """Every row of every language file; a mistyped style tag or a repeated row is an error, not a silent skew."""
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
        language = data["language"]
        if language not in LANGUAGES:
            raise ValueError(f"{path.name}: unknown language {language!r}")
        for intent, styles in data["intents"].items():
            for style, texts in styles.items():
                if style not in STYLES:
                    raise ValueError(f"{path.name}: {intent} has unknown style {style!r}")
                for text in texts or ():
                    key = " ".join(str(text).casefold().split())
                    if key in seen:
                        raise ValueError(f"{path.name}: {intent}/{style} repeats a row of {seen[key]}: {text!r}")
                    seen[key] = f"{path.name} {intent}"
                    examples.append(Example(str(text), intent, language, style))
    return examples


_WORDS = re.compile(r"\w+")


def row_key(text: str) -> str:
    """A row as words only, case-folded: "Hello!" and "hello" are the same row for the overlap check."""
    return " ".join(_WORDS.findall(text.casefold()))


def training_rows(folder: Path) -> list[tuple[str, str]]:
    """(text, intent) of every example in the Rasa training files (nlu/data/*.yml)."""
    rows = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    rows.append((line[2:].strip(), str(block["intent"])))
    return rows


def overlap(held_out: list[Example], training: list[tuple[str, str]]) -> list[Example]:
    """Held-out rows that the training data also has: each one makes the held-out figures flatter than they are."""
    trained = {row_key(text) for text, _ in training}
    return [e for e in held_out if row_key(e.text) in trained]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a repeated key: plain YAML keeps the last one and drops the rows before it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"repeated key {', '.join(repeated)} {node.start_mark}")
        return super().construct_mapping(node, deep=deep)


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
