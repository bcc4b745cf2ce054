"""The arrival story: "we came a few days ago, have no visa, where do we go so we are not sent back?"

This is the message whose wrong answer costs most: the person has 5 days from arrival to apply for asylum
(../shared/spec/legal_facts.md, A5), and a story of three sentences pulls the classifier towards family,
school or registration. So the policy layer reads the story itself, by cue families that hold in Kazakh
(with and without its letters), Russian, Latin-script Kazakh and Russian, English and mixes of them:

- recent arrival: an arrival verb (came, fled, crossed the border, приехали, келдік, priehali…) AND a recent
  time (days or a week ago, yesterday, just, кеше, бұрын…) — "I came three years ago" is not an arrival story;
- no status: a visa, documents or status negated, or ended (no visa, визы нет, визам жоқ, vizy net…);
- fear of removal or a plea for protection (sent back, deport, cannot go back, убежище, пана, қайтарып…).

All three families: asylum_apply is lifted to the top whatever the classifier ranked. Recent arrival and one
of the other two: lifted only when the classifier already has asylum_apply among its top guesses. A stated
ordinary purpose of stay (tourist, student, work, business trip) without a fear cue never lifts: those are
visa and registration questions. Measured on the held-out set with `pana nlu test` (nlu/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.policy import ASYLUM_APPLY, TOP_GUESSES
from bot.core.ports import Classification, IntentScore

# Kazakh letters as they are typed on a Russian keyboard, Latin Kazakh and Russian letters folded the same
# way, so one cue list covers every script variant of a word.
_FOLD = str.maketrans(
    {
        "ә": "а",
        "ғ": "г",
        "қ": "к",
        "ң": "н",
        "ө": "о",
        "ұ": "у",
        "ү": "у",
        "һ": "х",
        "і": "и",
        "ё": "е",
        "ä": "a",
        "ğ": "g",
        "ı": "i",
        "ñ": "n",
        "ö": "o",
        "ş": "s",
        "ū": "u",
        "ü": "u",
        "q": "k",
        "’": "'",
    }
)


def fold(text: str) -> str:
    """Lower case, Kazakh and Latin-Kazakh letters folded to their plain keyboard forms."""
    folded = text.lower().translate(_FOLD)
    return folded.replace("zh", "j").replace("kh", "h")


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Words start at a boundary; endings are left open (приехал/приехали, келдім/келдік, arrive/arrived).
_ARRIVAL_VERB = _any(
    # Russian, Cyrillic and Latin
    r"\b(при|въ?)ех",
    r"\bприбы",
    r"\bприлет",
    r"\b(пере|за)ш(е|ё)л\b.{0,20}границ",
    r"\bпересек",
    r"\b(с|у)?бежа",
    r"\bprie(h|x)",
    r"\bpribyl",
    r"\bprilet",
    r"\bperes(h|ch)e?l\b.{0,20}granic",
    r"\bperesek",
    r"\b(s|u)?be(j|zh)a",
    # Kazakh (folded), Cyrillic and Latin
    r"\bкел(д|г)",
    r"\bкаш(ып|тык|тым|тым)",
    r"\bшекара\w*\s+(от|кес)",
    r"\bжет(тик|тим|кен)",
    r"\bkel(d|g)",
    r"\bkash(yp|tyk|tym)",
    r"\bshekara\w*\s+(ot|kes)",
    # English
    r"\barr?iv",
    r"\bcame\b",
    r"\bcome\s+(from|to|here)",
    r"\bfled\b",
    r"\bran\s+away",
    r"\bgot\s+(to|here|into)\b",
    r"\bfle(e|d)\s",
    r"\bescap",
    r"\blanded\b",
    r"\bflew\b",
    r"\bcrossed\b",
    r"\bentered\b",
    r"\breached\b",
)
_RECENT = _any(
    r"\b(дн(я|ей)|день|сут(ки|ок)|недел(ю|и)|неделю)\s+(наза[дт]|тому)",
    r"\b(вчера|позавчера|сегодня|недавно|только\s+что|толькочто)\b",
    r"\bна\s+(прошлой|этой)\s+неделе",
    r"\b(только|тільки)\s+(приех|прилет|прибы|пересек)",
    r"\b(dn(ya|ei|ey)|den|nedel(yu|i))\s+naza[dt]",
    r"\b(vchera|pozavchera|segodnya|nedavno)\b",
    r"\btolko\s+(prie|prilet|pribyl)",
    r"\b(кун|апта|kun|apta)\w*\s+(бурын|buryn|boldy|болды)",
    r"\b(кеше|keshe|бугин|bugin|жуырда|juyrda|алдынгы\s+куни|aldyngy\s+kuni)\b",
    r"\b(осы|откен|otken|osy)\s+(аптада|aptada)",
    r"\b(days?|weeks?|nights?)\s+ago\b",
    r"\b(yesterday|today|recently|tonight)\b",
    r"\bjust\s+(arr?iv|came|come|land|fled|cross|got)",
    r"\b(last|this)\s+week\b",
)
# A document word and a negation (or an ending) close together, in either order.
_PAPERS = (
    r"(виз|документ|статус|паспорт|бумаг|кужат|мартеб|кагаз|"
    r"viz|dokument|status|pasport|kujat|kuzhat|martebe|papers?|docs?\b|documents?|visa)"
)
_NOT = (
    r"(нет|нету|без|ни|жок|net|bez|jok|no|not|none|without|dont|don't|do\s+not|haven't|havent|"
    r"закончил\w*|исте(к|кл)\w*|кончил\w*|битт\w*|бит(ип|кен)|zakonchil\w*|istek\w*|bitti|"
    r"expired|ended|finished|over)"
)
_NO_STATUS = _any(
    rf"{_PAPERS}\w*(\W+\w+){{0,3}}?\W+{_NOT}\b",
    rf"\b{_NOT}\b(\W+\w+){{0,3}}?\W+{_PAPERS}",
    r"\b(визасыз|кужатсыз|паспортсыз|мартебесиз|vizasyz|kujatsyz|undocumented|illegally)\b",
)
_REMOVAL = _any(
    # Russian
    r"\bобратно\b",
    r"\bназад\s+(нельзя|не\b)",
    r"\b(отправ|вышл|высл|верн|выгон)\w*\s+(\w+\s+)?назад",
    r"\b(домой|на\s+родину)\s+(мне\s+|нам\s+)?нельзя",
    r"\b(вышл|высл|выгон|выгн|депорт|верн(ут|ет|ёт|ули))",
    r"\bдомой\s+нельзя",
    r"\b(убежищ|защит)",
    r"\bobratno\b",
    r"\bnazad\s+(nel|ne\b)",
    r"\b(otprav|vyshl|vysl|vern)\w*\s+(\w+\s+)?nazad",
    r"\b(vyshl|vysl|vygon|vygn|deport|vern(ut|et|uli))",
    r"\bdomo[iy]\s+(mne\s+|nam\s+)?nel",
    r"\b(ubej|ubezh)is",
    r"\bzas(h|ch)it",
    # Kazakh (folded)
    r"\b(кери|keri)\b",
    r"\b(кайтар|kaitar|kaytar)",
    r"\b(кайта\s+алм|кайт(ууга|уга|са|сак)\b|kaita\s+alm|kait(uga|sa|sak)\b)",
    r"\b(шыгарып|куып|shygaryp|kuyp|kuip)\s+(жибер|jiber)",
    r"\b(пана|pana|баспана|baspana)\b",
    r"\b(корга|korga)",
    # English
    r"\bsen[dt]\s+(me|us|them|him|her)?\s*back",
    r"\b(go|going|return)\s+back\b",
    r"\b(deport|expel|returned\b|return\s+(me|us)\b)",
    r"\bcan'?n?o?t\s+go\s+(back|home)",
    r"\b(asylum|protection)\b",
)
# An ordinary reason to be in the country: a visa question, not a flight from danger.
_ORDINARY_STAY = _any(
    r"\b(турист|студент|учеб|учит|работ|командиров|бизнес|туризм)",
    r"\b(turist|student|ucheb|rabot|komandirov|biznes)",
    r"\b(оку|окуга|окимын|жумыс|саяхат)",
    r"\b(tourist|tourism|holiday|vacation|student|study|studies|studying|university|work\s+visa|business\s+trip)",
)


@dataclass(frozen=True, slots=True)
class ArrivalCues:
    """Which cue families a text carries."""

    arrival: bool  # an arrival verb and a recent time
    no_status: bool
    removal: bool
    ordinary_stay: bool

    @property
    def strong(self) -> bool:
        return self.arrival and self.no_status and self.removal

    @property
    def partial(self) -> bool:
        """A recent arrival with one other family, and no ordinary purpose of stay unless fear is voiced."""
        return self.arrival and (self.no_status or self.removal) and (self.removal or not self.ordinary_stay)


def arrival_cues(text: str) -> ArrivalCues:
    folded = fold(text)
    return ArrivalCues(
        arrival=bool(_ARRIVAL_VERB.search(folded) and _RECENT.search(folded)),
        no_status=bool(_NO_STATUS.search(folded)),
        removal=bool(_REMOVAL.search(folded)),
        ordinary_stay=bool(_ORDINARY_STAY.search(folded)),
    )


def lift_arrival(text: str, result: Classification) -> Classification:
    """asylum_apply first when the text is an arrival story (module docstring); otherwise `result` unchanged.

    The lifted intent takes the top guess's confidence when its own is lower, so the policy answers it
    (with the deadline, detention/deportation and a lawyer offered) instead of a menu led by another topic.
    """
    top = result.top
    if top is None or top.name == ASYLUM_APPLY:
        return result
    cues = arrival_cues(text)
    guessed = any(s.name == ASYLUM_APPLY for s in result.ranking[:TOP_GUESSES])
    if not (cues.strong or (cues.partial and guessed)):
        return result
    own = next((s.confidence for s in result.ranking if s.name == ASYLUM_APPLY), 0.0)
    lifted = IntentScore(ASYLUM_APPLY, max(own, top.confidence))
    return Classification(ranking=(lifted, *(s for s in result.ranking if s.name != ASYLUM_APPLY)))
