"""The languages Pana speaks: one registry; every list, menu, word table and fallback derives from it.

Adding a language: add its code to `Language` and an entry to `REGISTRY` (a test checks they agree),
then its data: a gettext catalog in locales/, its text in content/, its examples in nlu/data/.
Codes are short language tags as platforms send them (ISO 639-1 or 639-3, e.g. "prs" for Dari).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeGuard

__all__ = [
    "CODES_LENGTH",
    "CODE_LENGTH",
    "DELETE_WORDS",
    "FALLBACK_LANGUAGE",
    "FOREIGN_LANGUAGE",
    "LANGUAGES",
    "NO_WORDS",
    "REGISTRY",
    "SCRIPT_LANGUAGE",
    "YES_WORDS",
    "Language",
    "LanguageInfo",
    "Script",
    "is_language",
    "known_or_fallback",
    "named_in",
    "normalise_language_code",
]

Language = Literal["kk", "ru", "en"]
Script = Literal["cyrillic", "latin"]
CODE_LENGTH = 16  # the width of language columns in the record (migration 0005)
CODES_LENGTH = 64  # the width of a list of codes ("kk,ru")


@dataclass(frozen=True, slots=True)
class LanguageInfo:
    code: Language
    name: str  # in the language itself: how the language menu shows it
    english_name: str
    script: Script  # the script its users usually type in
    yes: frozenset[str]  # typed answers that mean "yes" to a question Pana asked
    no: frozenset[str]
    delete: frozenset[str]  # confirm "delete my data" only; never consent to share anything
    named: re.Pattern[str]  # how people name the language when they ask for it ("по-русски", "kazakh")


REGISTRY: dict[Language, LanguageInfo] = {
    info.code: info
    for info in (
        LanguageInfo(
            code="kk",
            name="Қазақша",
            english_name="Kazakh",
            script="cyrillic",
            yes=frozenset({"иә", "ия", "иа", "ие", "әрине"}),
            no=frozenset({"жоқ", "жок", "жок."}),
            delete=frozenset({"жою", "өшіру", "оширу"}),
            named=re.compile(r"қазақ|казах|казак|kazak|qazaq|kazakh", re.IGNORECASE),
        ),
        LanguageInfo(
            code="ru",
            name="Русский",
            english_name="Russian",
            script="cyrillic",
            yes=frozenset({"да", "д", "ага", "конечно"}),
            no=frozenset({"нет", "не", "отмена"}),
            delete=frozenset({"удалить", "удали"}),
            named=re.compile(r"рус|орыс|russian|russ|orys|po-russki|porusski", re.IGNORECASE),
        ),
        LanguageInfo(
            code="en",
            name="English",
            english_name="English",
            script="latin",
            yes=frozenset({"yes", "y", "yeah", "ok"}),
            no=frozenset({"no", "n", "cancel"}),
            delete=frozenset({"delete"}),
            named=re.compile(r"english|англ|ағылшын|агылшын|inglish|angli|agylshyn", re.IGNORECASE),
        ),
    )
}

LANGUAGES: tuple[Language, ...] = tuple(REGISTRY)
# Where nothing says which language to use (no setting read yet, an unreadable stored code): most people
# Pana serves read Russian. PANA_DEFAULT_LANGUAGE overrides it for replies.
FALLBACK_LANGUAGE: Language = "ru"
# For platform users whose language Pana does not speak (e.g. Telegram's command menus for them).
FOREIGN_LANGUAGE: Language = "en"
# With no word-level evidence at all, the script of a text decides (bot/core/language.py).
SCRIPT_LANGUAGE: dict[Script, Language] = {"cyrillic": "ru", "latin": "en"}

YES_WORDS = frozenset[str]().union(*(info.yes for info in REGISTRY.values()))
NO_WORDS = frozenset[str]().union(*(info.no for info in REGISTRY.values()))
DELETE_WORDS = frozenset[str]().union(*(info.delete for info in REGISTRY.values()))


def is_language(code: object) -> TypeGuard[Language]:
    return isinstance(code, str) and code in REGISTRY


def known_or_fallback(code: object) -> Language:
    """A stored code read back: ours, or the fallback when it is not (an old or edited record)."""
    return code if is_language(code) else FALLBACK_LANGUAGE


def normalise_language_code(code: str | None) -> Language | None:
    """Map a platform code like 'ru-RU', 'kk' or 'prs_AF' to one of ours, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if is_language(base) else None


def named_in(text: str) -> list[Language]:
    """The languages a text names ("на русском", "in Kazakh")."""
    return [info.code for info in REGISTRY.values() if info.named.search(text)]
