"""Language detection on short, mixed and transliterated texts, and how the reply language is chosen."""

from __future__ import annotations

import pytest

from bot.core.language import Detection, LanguageDetector, choose_language

pytestmark = pytest.mark.fast  # no Rasa, no database, no network


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("сәлеметсіз бе", "kk"),
        ("боскын мартебесин калай аламын", "kk"),  # Kazakh typed without its special letters
        ("менің паспорт потерялся, не істеу керек", "kk"),
        ("pasportym joq, ne isteimin", "kk"),
        ("qujat kerek bala ushin", "kk"),
        ("где подать на статус беженца", "ru"),
        ("gde podat na status bejenca", "ru"),
        ("how can i apply for asylum", "en"),
        ("i am refugee how i can work here", "en"),
        # Latin-script Kazakh told by its endings when no listed word is there (first person, polite imperative)
        ("otinishimdi qabyldanyz", "kk"),
        ("jumysymnan shygardy", "kk"),
        # Latin-script Russian told by its endings
        ("situatsiya slozhnaya", "ru"),
        # English words that end like Kazakh ones stay English
        ("admin of kazakhstan migration", "en"),
    ],
)
def test_detects_the_language(detector: LanguageDetector, text: str, expected: str) -> None:
    assert detector.detect(text).language == expected


@pytest.mark.parametrize("text", ["", "🙏🙏", "12345", "?!"])
def test_no_letters_means_no_guess(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == Detection(None, False)


def test_short_text_never_overrides_the_remembered_language(detector: LanguageDetector) -> None:
    detection = detector.detect("ok")
    assert not detection.confident
    assert choose_language(detection, sticky="kk", chosen=False, hint="en", default="ru") == "kk"


def test_explicit_choice_wins_over_detection() -> None:
    confident_russian = Detection("ru", True)
    assert choose_language(confident_russian, sticky="en", chosen=True, hint=None, default="ru") == "en"


def test_platform_hint_is_used_when_nothing_else_is_known() -> None:
    assert choose_language(Detection(None, False), sticky=None, chosen=False, hint="kk-KZ", default="ru") == "kk"
    assert choose_language(Detection(None, False), sticky=None, chosen=False, hint="uz", default="ru") == "ru"
