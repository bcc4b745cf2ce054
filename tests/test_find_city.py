"""find_city with each city's spellings compiled once answers as the pattern-per-spelling search did."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content.loader import load_catalog
from bot.content.render import find_city
from bot.content.schema import Directory
from bot.languages import LANGUAGES

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

REPO = Path(__file__).resolve().parent.parent


def _searched_spelling_by_spelling(text: str, directory: Directory) -> str | None:
    """The implementation before the patterns were compiled once: the reference."""
    lowered = text.lower()
    for city in directory.cities:
        spellings = {*(city.names.get(code) for code in LANGUAGES), *city.aliases}
        for spelling in spellings:
            if re.search(rf"(?<!\w){re.escape(spelling.lower())}", lowered):
                return city.id
    return None


def _texts(directory: Directory) -> list[str]:
    """Every spelling alone, in a sentence, shouted, glued to a word before and after, and two cities at once."""
    texts = ["", "Как подать на статус беженца?", "How do I apply for asylum?", "Баспана қалай сұраймын?"]
    spellings = [s for c in directory.cities for s in {*(c.names.get(code) for code in LANGUAGES), *c.aliases}]
    for spelling in spellings:
        texts += [
            spelling,
            f"Мы живём в {spelling} уже год, где юрист?",
            spelling.upper(),
            f"x{spelling}",
            f"{spelling}ский район",
            f"({spelling})",
        ]
    texts += [f"{a} или {b}" for a, b in zip(spellings, reversed(spellings), strict=True)]
    return texts


def test_find_city_answers_as_the_spelling_by_spelling_search_did() -> None:
    directory = load_catalog(REPO / "content").directory
    texts = _texts(directory)
    assert len(directory.cities) > 1 and len(texts) > 100
    assert [find_city(t, directory) for t in texts] == [_searched_spelling_by_spelling(t, directory) for t in texts]
    assert {find_city(t, directory) for t in texts} >= {c.id for c in directory.cities}  # every city is found
