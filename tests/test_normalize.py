"""`normalize` (bot/nlu/normalize.py) against the plain per-character, per-word definition it speeds up."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from bot.nlu.normalize import _REPEATS, _SPACES, _WORD, _fix_mixed_script, _is_noise, normalize
from bot.nlu.testset import load_test_set

pytestmark = pytest.mark.fast

HELD_OUT = Path(__file__).resolve().parent.parent / "nlu" / "tests"
INSERTS = ("😀", "\u200b", "\x07", "a", "o", "p", "ə", "Ё", "!!!!", "ааааа", "q", "\t", "©", "^", "İ", "ﬁ", "\ud800")


def by_definition(text: str) -> str:
    """Every character asked whether it is noise, every word whether it is mixed script (the slow way)."""
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(" " if _is_noise(ch) else ch for ch in text)
    text = _WORD.sub(lambda m: _fix_mixed_script(m.group()), text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


def roughened(texts: list[str], seed: int = 15) -> list[str]:
    """Each text with emoji, controls, look-alikes and floods put in at random places."""
    rng = random.Random(seed)
    out = []
    for text in texts:
        chars = list(text)
        for _ in range(3):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(INSERTS))
        out.append("".join(chars))
    return out


def test_normalize_is_its_definition_on_the_held_out_set_and_roughened_copies() -> None:
    texts = [example.text for example in load_test_set(HELD_OUT)]
    assert len(texts) > 1000
    different = [text for text in (*texts, *roughened(texts)) if normalize(text) != by_definition(text)]
    assert different == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("пaспoрт", "паспорт"),  # Latin a and o inside a Cyrillic word
        ("passport пaспoрт", "passport паспорт"),  # a Latin word beside it stays Latin
        ("help 😀😀 me", "help me"),
        ("помогитеееее!!!", "помогитее!!!"),  # a letter flood, not punctuation
    ],
)
def test_normalize_fixes_what_it_promises(typed: str, expected: str) -> None:
    assert normalize(typed) == expected == by_definition(typed)
