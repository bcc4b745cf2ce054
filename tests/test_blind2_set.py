"""The second blind evaluation set in nlu/eval/blind2/ keeps the shape issue 11 asked for.

These tests read only the set itself: whether it overlaps the training data is counted once at merge,
by the lead, because its writer must not open nlu/data/.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from bot.content.intents import load_intents
from bot.nlu.testset import Example, load_test_set
from tests.conftest import REPO

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

BLIND2 = REPO / "nlu" / "eval" / "blind2"
LANGUAGES = ("kk", "ru", "en")
INTENTS = tuple(load_intents(REPO / "content" / "intents.yml"))
# A greeting, a farewell or a thank-you has no help-page title to imitate.
NO_HEADING = ("greet", "goodbye", "thanks")
KAZAKH_LETTERS = re.compile("[әғқңөұүһі]", re.IGNORECASE)
CYRILLIC = re.compile("[а-яёәғқңөұүһі]", re.IGNORECASE)


@pytest.fixture(scope="module")
def blind2() -> list[Example]:
    return load_test_set(BLIND2)


def _count(examples: list[Example], **where: str) -> Counter[tuple[str, str]]:
    return Counter(
        (e.language, e.intent) for e in examples if all(getattr(e, key) == value for key, value in where.items())
    )


def test_every_intent_has_eight_rows_in_every_language(blind2: list[Example]) -> None:
    rows = _count(blind2)
    short = [(lang, intent, rows[lang, intent]) for lang in LANGUAGES for intent in INTENTS if rows[lang, intent] < 8]
    assert short == []
    assert {e.intent for e in blind2} <= set(INTENTS)


def test_every_intent_has_two_stories_and_a_heading(blind2: list[Example]) -> None:
    stories, headings = _count(blind2, style="long"), _count(blind2, style="heading")
    missing = [
        (lang, intent)
        for lang in LANGUAGES
        for intent in INTENTS
        if stories[lang, intent] < 2 or (intent not in NO_HEADING and headings[lang, intent] < 1)
    ]
    assert missing == []


def test_arrival_stories_are_asylum_apply_in_every_script(blind2: list[Example]) -> None:
    arrivals = [e for e in blind2 if e.style == "arrival"]
    assert {e.intent for e in arrivals} == {"asylum_apply"}
    assert all(Counter(e.language for e in arrivals)[lang] >= 12 for lang in LANGUAGES)
    kazakh = [e.text for e in arrivals if e.language == "kk"]
    assert any(KAZAKH_LETTERS.search(t) for t in kazakh)  # Cyrillic with the Kazakh letters
    assert any(CYRILLIC.search(t) and not KAZAKH_LETTERS.search(t) for t in kazakh)  # typed without them
    assert any(not CYRILLIC.search(t) for t in kazakh)  # Latin


def test_out_of_scope_has_twenty_five_rows_per_language(blind2: list[Example]) -> None:
    rows = _count(blind2, intent="out_of_scope")
    assert all(rows[lang, "out_of_scope"] >= 25 for lang in LANGUAGES)


def test_style_tags_match_the_text(blind2: list[Example]) -> None:
    wrong = [
        (e.language, e.style, e.text)
        for e in blind2
        if (e.style == "no_special" and (e.language != "kk" or KAZAKH_LETTERS.search(e.text)))
        or (e.style == "latin" and CYRILLIC.search(e.text))
        or (e.style == "long" and len(re.findall(r"[.!?]+(?:\s|$)", e.text)) < 2)
    ]
    assert wrong == []
