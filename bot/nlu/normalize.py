"""Clean a user's text before it reaches Rasa (the Rasa client applies it to every message).

The training data stays as people write; `pana nlu test --no-normalize` measures what this adds
(nlu/README.md records it). Only changes that measurably help stay here.
"""

from __future__ import annotations

import re
import unicodedata

# Latin look-alikes typed inside Cyrillic words (mixed keyboards) and the Cyrillic letter meant.
_LOOKALIKES = str.maketrans(
    {
        "a": "а",
        "e": "е",
        "o": "о",
        "p": "р",
        "c": "с",
        "x": "х",
        "y": "у",
        "i": "і",
        "k": "к",
        "m": "м",
        "t": "т",
        "h": "һ",
        "b": "в",
        "ə": "ә",
        "Ə": "ә",
    }
)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_WORD = re.compile(r"\S+")
# Four or more: "goood" and "СССР" are words, "помогитееее" is a flood.
_REPEATS = re.compile(r"(\w)\1{3,}", re.UNICODE)
_SPACES = re.compile(r"\s+")


def _is_noise(ch: str) -> bool:
    """Emoji, symbols and control characters carry no intent for our classifier."""
    category = unicodedata.category(ch)
    return category.startswith("C") or category in {"So", "Sk", "Cs"}


class _NoiseToSpace(dict[int, str]):
    """A `str.translate` table filled on first sight of each character: noise becomes a space, the rest stays.

    The same answer as `_is_noise` per character, looked up in C instead of a Python call per character
    (~half of `normalize`'s cost on a typical message). It holds at most one entry per distinct character seen.
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        self[code] = replacement = " " if _is_noise(ch) else ch
        return replacement


_NOISE_TO_SPACE = _NoiseToSpace()
_LOOKALIKE_LETTERS = frozenset(chr(code) for code in _LOOKALIKES)


def _fix_mixed_script(word: str) -> str:
    """Turn Latin look-alikes into Cyrillic inside words that are mostly Cyrillic."""
    cyrillic = len(_CYRILLIC.findall(word))
    if cyrillic == 0 or cyrillic * 2 < sum(ch.isalpha() for ch in word):
        return word
    return word.translate(_LOOKALIKES)


def normalize(text: str) -> str:
    """NFC, lower case, no emoji or control characters, mixed scripts fixed, letter floods shortened."""
    text = unicodedata.normalize("NFC", text).lower()
    text = text.translate(_NOISE_TO_SPACE)
    # A word changes only with a Cyrillic letter and a look-alike in it: without both, no word can.
    if _CYRILLIC.search(text) and not _LOOKALIKE_LETTERS.isdisjoint(text):
        text = _WORD.sub(lambda m: _fix_mixed_script(m.group()), text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()
