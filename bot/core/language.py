"""Which language a user writes in: kk, ru or en, from short, mixed and transliterated text.

Layers, strongest first (see ../shared/spec/channels.md §5):
1. Kazakh-only Cyrillic letters (ә ғ қ ң ө ұ ү һ і) mean Kazakh.
2. Cyrillic text: Kazakh word cues typed without special letters, then lingua restricted to {kk, ru}.
3. Latin text: Kazakh-Latin letters and words, Russian transliteration words, English words.
The reply language also weighs what the user chose and what the platform says (`choose_language`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from bot.languages import LANGUAGES, SCRIPT_LANGUAGE, Language, normalise_language_code

KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
KAZAKH_LATIN_LETTERS = frozenset("äğıñöşūüÄĞIÑÖŞŪÜ") - {"I"}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYRILLIC_CHAR = re.compile("[\u0400-\u04ff]")
_Q_NOT_U = re.compile(r"q(?!u)")  # informal Latin Kazakh types қ as q; English "qu" is no sign of it


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


# Kazakh words as people type them, with or without the special letters (Russian keyboards).
KAZAKH_CYRILLIC_CUES = _words(
    """
    салем салеметсиз салематсиз сэлем рахмет рахмат жок калай кайда кашан канша керек бар ма ме ба
    бе па пе ушин менин мени маган меним сиз сизге сиздин сиздер биз бизге бизди олар ол оны онын сен
    сенин бул осы мына ана кужат кужаттар кужатым азамат азаматтык азаматтыгы азаматтыгым боскын
    боскындар баспана баламнын балам бала балалар баланын баламыз мектеп емхана аурухана жумыс жумыска
    тиркеу тиркелу неге кандай кайтадан алу беру болады болама бола ала алам аламын аламыз истеу
    истеймин керекпе жане немесе деп дейди бирак тагы кымбат керемет жаксы жаман иа екен еди уйге уйим
    казакша казакстан казакстанда калада кетем кетти устап устады алып комек комектесиниз комектесиниздерши
    отиниш отинем сурак сураймын жазыныз айтыныз гой гана гой жатыр жатырмын келдим келди тураман турамыз
    кайтып кайту куалик куалигим мерзими мерзим айыппул туралы бойынша арналган кажет кажетти
    """
)
RUSSIAN_CYRILLIC_CUES = _words(
    """
    я мне меня мой моя мое моё мои моего моей моих у в во на не нет как что что-то где когда почему зачем
    можно нужно нужен нужна нужны надо есть это этот эта эти он она они мы вы вам вас нам нас его ее её
    их и или но если то ли бы был была было были будет уже еще ещё тоже очень только все всё для при по
    от до из за с со к ко о об про через после без так там тут здесь кто какой какая какие какое сколько
    чтобы пожалуйста подскажите помогите скажите хочу могу может можете могут делать сделать получить
    куда откуда который которая которые свой своего своей свои ваш ваша ваши наш наша наши себя сам
    сейчас теперь тогда потом просто даже вообще ли ну вот же ведь спасибо здравствуйте привет пока
    """
)
KAZAKH_CYRILLIC_SUFFIXES = (
    "мын",
    "мин",
    "сыз",
    "сиз",
    "нын",
    "нин",
    "дын",
    "дин",
    "тын",
    "тин",
    "ымыз",
    "имиз",
    "ныз",
    "низ",
    "дагы",
    "деги",
    "тагы",
    "теги",
    "ушин",
    "ганда",
    "генде",
    "кенде",
    "ингиз",
    "ыныз",
    "лары",
    "лери",
    "дары",
    "дери",
    "тары",
    "тери",
)

# Kazakh endings as typed in Latin (first person, polite second person, possessive accusative and genitive,
# ablative, "for"): they tell Latin-script Kazakh from Russian and English where no listed word does.
KAZAKH_LATIN_SUFFIXES = (
    "myn",
    "min",
    "myz",
    "miz",
    "nyz",
    "niz",
    "ymdy",
    "imdi",
    "ymnyn",
    "imnin",
    "ushin",
    "nan",
    "dan",
)
KAZAKH_LATIN_CUES = _words(
    """
    salem salemetsiz salemetsizbe rahmet rakhmet raqmet qalay kalay qalai kalai qayda kayda qaida kaida
    qashan kashan qansha kansha kerek bar joq jok zhok zhoq men menin menyn meni magan maghan sizge siz
    biz bizge ushin ushyn ushın ne nege qanday kanday qandai kandai qujat kujat kuzhat qujatym kujatym
    azamat azamattyq azamattyk azamattygy bosqyn boskyn baspana bala balam balamnyn balama mektep emhana
    auruhana zhumys jumys tirkeu isteu isteimin isteymin bola bolady ala alam alamyn qazaqsha kazaksha
    qazaqstan kazakstan qazaqstanda kazakstanda komek komektesiniz otinish suraq jane nemese kualik kuälik
    qazir kazir kerekpe bolama ma me ba be pa pe dep edi eken ghoy goy turaly boiynsha zhane
    alu adam jatyr beriledi merzimi tegin qaidan kaidan baramyn ketti pasportym beremin bitti keledi degen
    keiin jauap otyr baru bermedi martebe martebem martebesin martebemdi alyp adammyn tanu tirkelu ustap
    bosqynmyn kelgen keldim keldik jazamyn sau kop soilesu jeke kim almatyda telefonym shagym uzartu
    uzartamyn isteuge beredi kualigin bitip eski tek berdim jol apatridpin balany alamyz jasalady bermei
    aldy isteimiz bara mektepke tabamyn nomiri bosqyndar qamap tez jedel qauip munda osynda neke boldy
    uy iesi kepil deidi endi apta aqsha aksha otbasy otbasym otbasymyz
    """
)
RUSSIAN_LATIN_CUES = _words(
    """
    zdravstvuyte zdravstvuite zdrastvuyte zdrasti privet spasibo poka gde kak chto shto chtoby mne menya
    menia nuzhno nujno nuzhen nujen nado mozhno mojno pomogite pomogi pozhaluysta pojaluista pojaluysta
    podskazhite podskajite skazhite dokument dokumenty dokumentov pasporta poteryal poteral poteryala propal
    bezhenca bejenca bezhenec bejenec bezhentsa grazhdanstvo grajdanstvo grazhdanstva rebenok rebenka
    rebyonok deti detey zaderzhali zaderjali deportaciya deportatsiya rabota rabotat rabotu razreshenie
    propiska registraciya registratsiya shtraf ubezhishche ubejishe yurist iurist advokat zhena muzh semya
    svidetelstvo rozhdenii rojdenii kuda kogda pochemu skolko esli ili eto vy ya on ona oni moy moya moi
    net da ochen srochno u v na ne s k o po ot dlya pri bez cherez posle mogu hochu mozhet mozhete mne
    sdelat poluchit podat podati status statusa vid zhitelstvo zhitelstva prodlit prodlenie otkazali
    otkaz pomosch pomoshch pomosh chto-to kakie kakoy kakaya nas nam vas vam ih ego ee uzhe eshe tozhe
    ty tebe tebya iz za delat li est kto chelovek vse vsem idti oformit otkryt zdes hotyat kakoe yurista
    dannye jdat prohodit deystvuet zakonchilas daet granicu granicy vyehat privezti rodilsya rebenku inostranca
    inostrancu nedelyu schet brak razvod snyat zalog vizy priehali priehal hozyain zaregistrirovat
    """
)
ENGLISH_CUES = _words(
    """
    the a an and or but if of to in on at for from with without by about into after before is are was were be
    been am i you he she we they it my your his her our their me him us them this that these those what where
    when why how who which can could would should will shall do does did have has had not no yes please help
    thanks thank hello hi hey bye goodbye need want get got go know tell give apply applied application
    asylum refugee refugees status stateless citizenship passport lost documents document child children baby
    birth certificate work job permit visa expired fine detained police deported deportation lawyer free
    school hospital doctor wife husband family brother sister mother father there here now today someone
    some any much many more time long still again also only just very really im dont cant is my
    """
)
_RU_ONLY_LETTERS = frozenset("щъэё")
# Russian inflections on Cyrillic words (verbs, adjectives, plural cases) that Kazakh words do not end in:
# in code-switched text the grammar, not the nouns, tells the language the person writes in.
RUSSIAN_CYRILLIC_SUFFIXES = (
    "ться",
    "тся",
    "ите",
    "ого",
    "его",
    "ому",
    "ыми",
    "ими",
    "ает",
    "яет",
    "ают",
    "яют",
    "ует",
    "уют",
    "ешь",
    "ишь",
    "ная",
    "ные",
    "ный",
    "ной",
    "ов",
    "ев",
    "ами",
    "ями",
)
# Russian endings as typed in Latin, which neither English nor Kazakh words have.
RUSSIAN_LATIN_SUFFIXES = ("iya", "ogo", "aya", "itsya", "atsya", "ovat", "stvo", "eniye", "enie")


@dataclass(slots=True)
class Weights:
    """How much each kind of evidence counts, chosen on the held-out set (nlu/README.md, language id)."""

    kazakh_letters: float = 1.0
    russian_words: float = 1.0
    russian_suffixes: float = 0.5
    lingua: float = 1.0
    last_words: float = 2.0


WEIGHTS = Weights()


@dataclass(frozen=True, slots=True)
class Detection:
    """A guess at the language of one text.

    Only `confident` guesses (three words or more with a clear signal) may change the language a user
    is remembered with; short texts such as "ok" or "паспорт?" never do.
    """

    language: Language | None
    confident: bool


class LanguageDetector:
    """Detect kk / ru / en by word-level evidence; lingua weighs in on Cyrillic text (loaded on first use)."""

    @cached_property
    def _lingua(self):  # type: ignore[no-untyped-def]
        from lingua import Language as LinguaLanguage
        from lingua import LanguageDetectorBuilder

        languages = (LinguaLanguage.KAZAKH, LinguaLanguage.RUSSIAN)
        # Low accuracy mode reads trigrams only: ~10 MB of models instead of ~64 MB per worker, and on the
        # held-out set the same language accuracy (0.971); 10 of 2,073 detections differ (docs/performance.md).
        builder = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode()
        return builder.with_preloaded_language_models().build()

    def detect(self, text: str) -> Detection:
        words = [w.lower() for w in _WORD.findall(text)]
        if not words:
            return Detection(None, False)
        votes = dict.fromkeys(LANGUAGES, 0.0)
        cyrillic_words = []
        last = max(1, len(words) - 1)
        for index, word in enumerate(words):
            if _is_cyrillic(word):
                cyrillic_words.append(word)
                vote = _vote_cyrillic(word)
            else:
                vote = _vote_latin(word)
            if vote is not None:  # a word votes for one language at most; the others gain exactly 0.0
                language, weight = vote
                # later words weigh more: a code-switched question ends in the language the person thinks in
                votes[language] += (1.0 + WEIGHTS.last_words * index / last) * weight
        if len(cyrillic_words) >= 2:
            share = self._kazakh_share(" ".join(cyrillic_words))
            votes["kk"] += WEIGHTS.lingua * share
            votes["ru"] += WEIGHTS.lingua * (1 - share)
        ranked = sorted(votes.items(), key=lambda item: -item[1])
        (best, top), (_, second) = ranked[0], ranked[1]
        if top == 0:  # no evidence at all: the script decides
            best = SCRIPT_LANGUAGE["cyrillic" if len(cyrillic_words) * 2 >= len(words) else "latin"]
        confident = len(words) >= 3 and top - second >= 1.0
        return Detection(best, confident)

    def _kazakh_share(self, text: str) -> float:
        for value in self._lingua.compute_language_confidence_values(text):
            if value.language.iso_code_639_1.name == "KK":
                return float(value.value)
        return 0.0


def _is_cyrillic(word: str) -> bool:
    """At least half the word's characters are Cyrillic (an ASCII word has none)."""
    return not word.isascii() and len(_CYRILLIC_CHAR.findall(word)) * 2 >= len(word)


Vote = tuple[Language, float] | None


def _vote_cyrillic(word: str) -> Vote:
    if not KAZAKH_LETTERS.isdisjoint(word):
        return "kk", WEIGHTS.kazakh_letters
    if word in KAZAKH_CYRILLIC_CUES:
        return "kk", 1.0
    if word in RUSSIAN_CYRILLIC_CUES:
        return "ru", WEIGHTS.russian_words
    if not _RU_ONLY_LETTERS.isdisjoint(word):
        return "ru", 1.0
    if len(word) > 5 and word.endswith(KAZAKH_CYRILLIC_SUFFIXES):
        return "kk", 0.5
    if len(word) > 4 and word.endswith(RUSSIAN_CYRILLIC_SUFFIXES):
        return "ru", WEIGHTS.russian_suffixes
    return None


def _vote_latin(word: str) -> Vote:
    if not KAZAKH_LATIN_LETTERS.isdisjoint(word) or _Q_NOT_U.search(word):
        return "kk", 1.5
    if word in ENGLISH_CUES:
        return "en", 1.0
    if word in KAZAKH_LATIN_CUES:
        return "kk", 1.0
    if word in RUSSIAN_LATIN_CUES:
        return "ru", 1.0
    if len(word) > 5 and word.endswith(KAZAKH_LATIN_SUFFIXES):
        return "kk", 0.5
    if len(word) > 5 and word.endswith(RUSSIAN_LATIN_SUFFIXES):
        return "ru", 0.5
    return None


def choose_language(
    detection: Detection,
    *,
    sticky: Language | None,
    chosen: bool,
    hint: str | None,
    default: Language,
) -> Language:
    """Pick the reply language: an explicit choice wins, then confident detection, then memory and hints."""
    if chosen and sticky:
        return sticky
    if detection.confident and detection.language:
        return detection.language
    if sticky:
        return sticky
    platform = normalise_language_code(hint)
    # A Latin-script guess is weak (transliteration): the platform's language wins over it.
    if detection.language and (platform is None or detection.language != SCRIPT_LANGUAGE["latin"]):
        return detection.language
    return platform or default
