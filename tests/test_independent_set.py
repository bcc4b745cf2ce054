"""The blind evaluation set in nlu/eval/independent/ keeps the shape issue 11 asked for.

This test reads only the set and the intent contract. It never reads the training data. The count-only overlap
check against nlu/data/ is left to someone who has not written this set (see its README).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.content.intents import load_intents
from bot.languages import LANGUAGES
from bot.nlu.testset import load_test_set

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "nlu" / "eval" / "independent"
KAZAKH_ONLY_LETTERS = re.compile("[әіңғүұқөһ]", re.IGNORECASE)
CYRILLIC = re.compile("[\u0400-\u04ff]")


def test_every_intent_has_at_least_six_rows_in_every_language() -> None:
    # load_test_set itself refuses a mistyped style or a row repeated anywhere in the set
    rows = load_test_set(SET)
    counts = Counter((row.intent, row.language) for row in rows)
    intents = load_intents(ROOT / "content" / "intents.yml")
    assert {row.intent for row in rows} == set(intents), "exactly the intents of the contract"
    thin = [
        (intent, lang, counts[(intent, lang)]) for intent in intents for lang in LANGUAGES if counts[(intent, lang)] < 6
    ]
    assert not thin, f"fewer than 6 rows: {thin}"


def test_arrival_stories_are_asylum_apply_and_at_least_ten_per_language() -> None:
    arrivals = [row for row in load_test_set(SET) if row.style == "arrival"]
    assert {row.intent for row in arrivals} == {"asylum_apply"}
    per_language = Counter(row.language for row in arrivals)
    assert all(per_language[lang] >= 10 for lang in LANGUAGES), per_language


def test_script_styles_hold_what_they_say() -> None:
    rows = load_test_set(SET)
    wrong = [
        (row.language, row.style, row.text)
        for row in rows
        if (row.style == "no_special" and KAZAKH_ONLY_LETTERS.search(row.text))
        or (row.style == "latin" and CYRILLIC.search(row.text))
    ]
    assert not wrong
    assert {row.language for row in rows if row.style == "no_special"} == {"kk"}
