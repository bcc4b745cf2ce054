"""The one i18n API: UI strings from the gettext catalogs in locales/, usable from every channel.

- `N_("...")` marks a string for extraction where it is defined; it is translated where it is shown.
- `translator.gettext(message, language)` translates once; `bound(translator, language)` gives the `_`
  of one language for code that builds several strings (answers, case notices).

Compiled `.mo` files are used when the build made them; otherwise the `.po` source is read directly,
so a fresh checkout works before `make locales`. Untranslated and fuzzy entries fall back to English.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from babel.messages.pofile import read_po

from bot.languages import LANGUAGES, Language

__all__ = ["DOMAIN", "N_", "Gettext", "Translations", "Translator", "bound"]

DOMAIN = "messages"

Gettext = Callable[[str], str]  # `_` in one language


class Translator(Protocol):
    def gettext(self, message: str, language: Language) -> str: ...


def N_(message: str) -> str:  # noqa: N802 (the name Babel extracts by default)
    """Mark a string for extraction; it is translated in the reader's language where it is shown."""
    return message


def bound(translator: Translator, language: Language) -> Gettext:
    """`_` in one language."""
    return lambda message: translator.gettext(message, language)


def _load(locales_dir: Path, language: Language) -> dict[str, str]:
    folder = locales_dir / language / "LC_MESSAGES"
    mo = folder / f"{DOMAIN}.mo"
    po = folder / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
    if not po.exists():
        return {}
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def catalog_strings(locales_dir: Path, language: Language) -> dict[str, str]:
    """Every translated UI string of one language, msgid to msgstr (for checks over the texts)."""
    return _load(locales_dir, language)


class Translations:
    """Look up a UI string in one of our languages."""

    def __init__(self, locales_dir: Path) -> None:
        self._catalogs = {language: _load(locales_dir, language) for language in LANGUAGES}

    def gettext(self, message: str, language: Language) -> str:
        return self._catalogs.get(language, {}).get(message) or message
