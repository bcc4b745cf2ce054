"""Kazakh and Russian typed in Latin letters, written back in Cyrillic (the script most training rows use).

Two ways of typing are covered, from the alphabets' rules:
- the official Kazakh Latin of 2021 (ä ğ ı i ñ ö q ş ç ū ü, y for и/й, j for ж): any of its letters but q in a
  message switches to its reading of i (і, ı being ы), with the 2017 acute (á ó ú ǵ ń ý) and 2018
  apostrophe forms (a' o' u' g' n' s' c');
- informal ASCII: digraphs first (shch sch sh ch zh kh gh ts ya yu), j for ж, y for ы (й after a vowel, as
  is a Kazakh i after a vowel), ' for ь; the special Kazakh letters fall back to their plain look-alikes
  (k for қ, g for ғ, u for ұ/ү, o for ө, i for і), which is how Kazakh without its special letters is typed
  in Cyrillic too.
Where a Latin letter has several readings the most frequent one is taken; the result only needs to be close
enough for the classifier, which was trained on Cyrillic typed without the special letters as well.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.core.language import LanguageDetector

TranslitLanguage = Literal["kk", "ru"]

# q alone does not count: informal typing uses it for қ beside y for ы ("bosqyn").
OFFICIAL_KAZAKH_LETTERS = frozenset("äğıñöşçūüáóúǵńý")
_VOWELS = frozenset("aeiouyäıöūüéáóúý")
_LATIN_WORD = re.compile(r"[a-zäğıñöşçūüéáóúǵńý']+")
_APOSTROPHE_2018 = {"a'": "ә", "o'": "ө", "u'": "ү", "g'": "ғ", "n'": "ң", "s'": "ш", "c'": "ч", "i'": "ы"}

# Longest first: a table is tried in this order at every position.
_DIGRAPHS: dict[TranslitLanguage, tuple[tuple[str, str], ...]] = {
    "ru": (
        ("shch", "щ"),
        ("tsya", "тся"),
        ("sch", "щ"),
        ("sh", "ш"),
        ("ch", "ч"),
        ("zh", "ж"),
        ("kh", "х"),
        ("ts", "ц"),
        ("ya", "я"),
        ("yu", "ю"),
        ("yo", "ё"),
    ),
    "kk": (
        ("sh", "ш"),
        ("ch", "ч"),
        ("zh", "ж"),
        ("kh", "х"),
        ("gh", "ғ"),
        ("ya", "я"),
        ("yu", "ю"),
    ),
}
_SHARED_LETTERS = {
    "a": "а",
    "b": "б",
    "c": "ц",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "х",
    "i": "и",
    "j": "ж",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "q": "қ",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "w": "в",
    "x": "х",
    "z": "з",
    "é": "е",
    "ä": "ә",
    "ğ": "ғ",
    "ı": "ы",
    "ñ": "ң",
    "ö": "ө",
    "ş": "ш",
    "ç": "ч",
    "ū": "ұ",
    "ü": "ү",
    "á": "ә",  # the 2017-2018 acute forms
    "ó": "ө",
    "ú": "ү",
    "ǵ": "ғ",
    "ń": "ң",
    "ý": "у",
    "'": "ь",
}
_KAZAKH_LETTERS = _SHARED_LETTERS | {"w": "у", "'": ""}  # "tirkew": w is у; a lone apostrophe is nothing
_OFFICIAL_LETTERS = _KAZAKH_LETTERS | {"i": "і"}


def uses_official_kazakh_latin(text: str) -> bool:
    """True when the text has a letter only the official Kazakh Latin alphabet uses."""
    return any(ch in OFFICIAL_KAZAKH_LETTERS for ch in text)


def transliterate(text: str, language: TranslitLanguage) -> str:
    """The text with every Latin word written in Cyrillic by `language`'s conventions (lower case in, out)."""
    official = language == "kk" and uses_official_kazakh_latin(text)
    return _LATIN_WORD.sub(lambda m: _word(m.group(), language, official=official), text.lower())


def _word(word: str, language: TranslitLanguage, *, official: bool) -> str:
    if language == "ru" and word == "ja":  # the German-style "ja" is я; elsewhere j is ж ("nujno")
        return "я"
    letters = _OFFICIAL_LETTERS if official else _KAZAKH_LETTERS if language == "kk" else _SHARED_LETTERS
    digraphs = _DIGRAPHS[language]
    out: list[str] = []
    i = 0
    while i < len(word):
        if language == "kk" and word[i : i + 2] in _APOSTROPHE_2018:
            out.append(_APOSTROPHE_2018[word[i : i + 2]])
            i += 2
            continue
        pair = next(((latin, cyr) for latin, cyr in digraphs if word.startswith(latin, i)), None)
        if pair is not None and not (pair[0] == "ya" and official):
            out.append(pair[1])
            i += len(pair[0])
            continue
        ch = word[i]
        if ch == "y":
            out.append(_y(word, i))
        elif language == "kk" and ch == "i" and i > 0 and word[i - 1] in _VOWELS:
            out.append("й")  # Kazakh has no vowel + и: "qalai", "ui" are қалай, үй
        elif language == "kk" and word.startswith("ng", i) and i + 2 == len(word) and i > 0:
            out.append("ң")  # "mening", "sening": a final ng is ң
            i += 1
        else:
            out.append(letters.get(ch, ch))
        i += 1
    return "".join(out)


def _y(word: str, i: int) -> str:
    """y: nothing before e at a word's start or after a vowel (ye is е), й after a vowel, else ы.

    Even writers of the official alphabet mostly type y for ы ("bosqyn"), so ы is the most frequent reading.
    """
    before = word[i - 1] if i > 0 else ""
    after = word[i + 1] if i + 1 < len(word) else ""
    if after == "e" and (not before or before in _VOWELS):
        return ""  # "yest", "moye": ye is е there
    if before in _VOWELS:
        return "й"
    return "ы"


# A message is read as transliterated when at least this share of its letters is Latin.
MIN_LATIN_SHARE = 0.5


def latin_share(text: str) -> float:
    """The share of the text's letters that are Latin (0 when it has none)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(ch < "\u0250" for ch in letters) / len(letters)  # Basic Latin to Latin Extended-B


def cyrillic_reading(text: str, detector: LanguageDetector) -> str | None:
    """The text in Cyrillic when it is Kazakh or Russian typed mostly in Latin letters; None otherwise.

    English stays as it is: the language detector (English function words, Kazakh and Russian Latin cues and
    endings) must be confident (three words or more, a clear margin) that the text is Kazakh or Russian. On the
    held-out set the detector's bare verdict also read English "ty" (thank you) as Russian "ты"; requiring its
    confidence kept every English row as it was and lost no Latin gain (nlu/README.md).
    """
    if latin_share(text) < MIN_LATIN_SHARE:
        return None
    detection = detector.detect(text)
    if not detection.confident or detection.language not in ("kk", "ru"):
        return None
    return transliterate(text, detection.language)
