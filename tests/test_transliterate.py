"""Kazakh and Russian typed in Latin letters: their Cyrillic reading, when it is used, and the real server's view."""

from __future__ import annotations

import pytest

from bot.core.language import LanguageDetector
from bot.nlu.auth import auth_headers
from bot.nlu.client import RasaClient
from bot.nlu.long_text import combine
from bot.nlu.server import NluServer
from bot.nlu.transliterate import cyrillic_reading, latin_share, transliterate, uses_official_kazakh_latin
from bot.settings import RasaSettings


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("privet, mne nuzhna pomoshch", "привет, мне нужна помощ"),  # shch is щ; the untyped soft sign stays out
        ("ya bezhenets, chto delat'", "я беженец, что делать"),  # ts is ц, ' is ь
        ("zdravstvuyte, pozhaluysta", "здравствуйте, пожалуйста"),  # y after a vowel is й
        ("novye dokumenty", "новые документы"),  # y after a consonant is ы
        ("yest moye", "ест мое"),  # ye at the start or after a vowel is е
        ("nujno", "нужно"),  # j is ж
        ("ja", "я"),  # except the German-style "ja" on its own
        ("registraciya", "регистрация"),  # c is ц, ya is я
        ("moi", "мои"),  # Russian does have vowel + и
        ("kud\u0430", "куда"),  # a Cyrillic letter typed inside stays as it is
    ],
)
def test_russian_in_latin_letters(latin: str, cyrillic: str) -> None:
    assert transliterate(latin, "ru") == cyrillic


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        # informal ASCII: plain look-alikes for the special letters, y is ы, j and zh are ж, q is қ
        ("kuzhat jok, ne isteu kerek", "кужат жок, не истеу керек"),
        ("bosqyn martebesin qalay alamyn", "босқын мартебесин қалай аламын"),
        ("qayda baru kerek", "қайда бару керек"),
        ("maghan komek kerek", "маған комек керек"),  # gh is ғ
        ("mening balam", "мениң балам"),  # a final ng is ң
        ("tirkew", "тиркеу"),  # w is у
        ("qalai, uige", "қалай, уйге"),  # Kazakh has no vowel + и: i after a vowel is й
        ("salemetsiz be", "салеметсиз бе"),  # ts is not ц in Kazakh
        # the official 2021 alphabet: i is і, ı is ы, and its own letters
        ("Sälem, men bosqynmın", "сәлем, мен босқынмын"),
        ("tüsindiñiz be, şeşim, çay", "түсіндіңіз бе, шешім, чай"),
        ("Ūlttyq ortalyq", "ұлттық орталық"),
        ("öz qūjatym", "өз құжатым"),
        # 2017 acute and 2018 apostrophe forms
        ("mártebe", "мәртебе"),
        ("ma'rtebe", "мәртебе"),
    ],
)
def test_kazakh_in_latin_letters(latin: str, cyrillic: str) -> None:
    assert transliterate(latin, "kk") == cyrillic


def test_only_official_letters_other_than_q_switch_to_the_official_reading_of_i() -> None:
    assert uses_official_kazakh_latin("sälem")
    assert not uses_official_kazakh_latin("qazaqstan")  # informal typing uses q too
    assert transliterate("biz", "kk") == "биз"
    assert transliterate("biz ä", "kk") == "біз ә"


def test_latin_share_counts_letters_only() -> None:
    assert latin_share("privet 123 !!!") == 1.0
    assert latin_share("привет") == 0.0
    assert latin_share("hi мир") == pytest.approx(0.4)
    assert latin_share("123") == 0.0


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("ya bezhenets, chto mne delat'?", "я беженец, что мне делать?"),
        ("bosqyn martebesin qalay alamyn?", "босқын мартебесин қалай аламын?"),
        ("Sälemetsiz be, qujatym joq, ne isteu kerek?", "сәлеметсіз бе, қужатым жоқ, не істеу керек?"),
    ],
)
def test_kazakh_and_russian_typed_in_latin_are_read_in_cyrillic(
    detector: LanguageDetector, text: str, reading: str
) -> None:
    assert cyrillic_reading(text.lower(), detector) == reading


@pytest.mark.parametrize(
    "text",
    [
        "how do i apply for asylum in kazakhstan?",  # English stays English
        "i lost my passport, what should i do",
        "ty",  # English "thank you", but also Russian "ты": too short to be sure
        "spasibo",  # one word: the detector is not confident
        "как подать на убежище?",  # Cyrillic already
        "pomogite, как подать на убежище?",  # mostly Cyrillic
    ],
)
def test_english_short_and_cyrillic_texts_are_not_transliterated(detector: LanguageDetector, text: str) -> None:
    assert cyrillic_reading(text, detector) is None


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("bosqyn martebesin alu ushin qaida baru kerek?", "Босқын мәртебесін алу үшін қайда бару керек?"),
        ("Men apatridpin, maǵan qandai qūjat beredi?", "Мен азаматтығы жоқ адаммын, маған қандай құжат береді?"),
    ],
)
async def test_latin_kazakh_gets_the_intent_of_its_cyrillic_form_on_the_real_server(
    rasa_server: NluServer, rasa_settings: RasaSettings, latin: str, cyrillic: str
) -> None:
    def sign() -> dict[str, str]:
        return auth_headers(rasa_settings)

    plain = RasaClient(rasa_settings.base_url, timeout=5, auth=sign)
    reading = RasaClient(rasa_settings.base_url, timeout=5, auth=sign, latin_weight=0.5)
    try:
        expected = (await plain.classify(cyrillic)).top
        as_typed = await plain.classify(latin)
        transliterated = await plain.classify(transliterate(latin.lower(), "kk"))
        combined = await reading.classify(latin)
    finally:
        await plain.close()
        await reading.close()
    assert expected is not None and combined.top is not None
    assert combined.top.name == expected.name
    both = combine(as_typed, transliterated, 0.5)  # the client did classify it twice and combine
    assert [s.name for s in combined.ranking] == [s.name for s in both.ranking]
    assert [s.confidence for s in combined.ranking] == pytest.approx([s.confidence for s in both.ranking])


@pytest.mark.fast
def test_every_client_reads_latin_with_the_process_detector() -> None:
    """One detector per worker: a client of its own would load lingua's models a second time (or once per replica)."""
    from bot.nlu.replicas import RasaReplicas, create_classifier

    detector = LanguageDetector()
    single = create_classifier(RasaSettings(url="http://127.0.0.1:5999"), detector)
    pool = create_classifier(RasaSettings(url="http://127.0.0.1:5998,http://127.0.0.1:5999"), detector)
    assert isinstance(single, RasaClient) and single._detector is detector
    assert isinstance(pool, RasaReplicas)
    assert [replica.client._detector for replica in pool.replicas] == [detector, detector]  # type: ignore[attr-defined]
