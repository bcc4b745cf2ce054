"""The language registry: the Literal, the tables and the data of every language agree with it."""

from __future__ import annotations

from typing import get_args

import pytest

from bot.content.schema import Localized
from bot.core.answers import LANGUAGE_OPTIONS
from bot.core.payloads import language as language_payload
from bot.languages import (
    DELETE_WORDS,
    FALLBACK_LANGUAGE,
    LANGUAGES,
    NO_WORDS,
    REGISTRY,
    SCRIPT_LANGUAGE,
    YES_WORDS,
    Language,
    known_or_fallback,
    named_in,
    normalise_language_code,
)
from bot.settings import TwilioSettings
from tests.conftest import REPO

pytestmark = pytest.mark.fast  # no Rasa, no database, no network


def test_the_literal_and_the_registry_list_the_same_codes() -> None:
    assert get_args(Language) == LANGUAGES == tuple(info.code for info in REGISTRY.values())
    assert FALLBACK_LANGUAGE in LANGUAGES and set(SCRIPT_LANGUAGE.values()) <= set(LANGUAGES)


def test_every_language_has_its_data() -> None:
    """A language is one registry entry plus data: a catalog, content fields, a template setting."""
    for code in LANGUAGES:
        assert (REPO / "locales" / code / "LC_MESSAGES" / "messages.po").exists(), code
        assert code in Localized.model_fields, code
        assert f"template_{code}" in TwilioSettings.model_fields, code


def test_the_language_menu_and_word_tables_derive_from_the_registry() -> None:
    assert [o.payload for o in LANGUAGE_OPTIONS] == [language_payload(code) for code in LANGUAGES]
    assert {"yes", "да", "иә"} <= YES_WORDS and {"no", "нет", "жоқ"} <= NO_WORDS
    assert not (YES_WORDS | NO_WORDS) & DELETE_WORDS  # a delete word never means consent


def test_codes_from_platforms_and_the_record() -> None:
    assert normalise_language_code("ru-RU") == "ru"
    assert normalise_language_code("prs_AF") is None  # not (yet) a language Pana speaks
    assert known_or_fallback("xx") == FALLBACK_LANGUAGE and known_or_fallback("kk") == "kk"
    assert named_in("можно на казахском?") == ["kk"]
