"""The gettext catalogs are complete: every UI string translated, nothing fuzzy, nothing stale."""

from __future__ import annotations

import subprocess

import pytest
from babel.messages.pofile import read_po

from bot.i18n import Translations
from tests.conftest import REPO

pytestmark = pytest.mark.fast  # no Rasa, no database, no network

LOCALES = REPO / "locales"


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_catalog_is_complete_and_not_fuzzy(language: str) -> None:
    catalog = _catalog(language)
    assert not catalog.fuzzy
    for message in catalog:
        if message.id:
            assert message.string, f"untranslated in {language}: {message.id!r}"
            assert not message.fuzzy, f"fuzzy in {language}: {message.id!r}"


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_no_translation_says_its_text_twice(language: str) -> None:
    # A merge once glued a translation to itself ("…көрсетіледі.Тек сандар…"); people would read every word twice.
    for message in _catalog(language):
        text = message.string if isinstance(message.string, str) else ""
        half = len(text) // 2
        assert not (text and len(text) % 2 == 0 and text[:half] == text[half:]), (
            f"doubled in {language}: {message.id!r}"
        )


def test_catalogs_match_the_strings_in_the_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(REPO / ".venv/bin/pybabel"), "extract", "-F", "babel.cfg", "-o", str(pot), "--no-location", "."],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        in_code = {m.id for m in read_po(handle) if m.id}
    for language in ("kk", "ru", "en"):
        assert {m.id for m in _catalog(language) if m.id} == in_code, f"run `make locales-update` ({language})"


def test_placeholders_survive_translation() -> None:
    translations = Translations(LOCALES)
    for language in ("kk", "ru", "en"):
        for message in _catalog(language):
            if message.id and "{days}" in message.id:
                assert "{days}" in translations.gettext(message.id, language)


def test_unknown_language_falls_back_to_english() -> None:
    assert Translations(LOCALES).gettext("Topics", "uz") == "Topics"  # type: ignore[arg-type]
