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
from functools import cached_property

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
        "ş": "sh",
        "ç": "ch",
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


# How long one has been here, which says both at once: "мы три дня в Алматы", "v kazakhstane nedelyu".
_HERE_SINCE = (
    r"\b(\d+|два|три|четыре|пять|шесть|dva|tri|chetyre|pyat|shest)\s+(дн(я|ей)|dn(ya|ei|ey))\s+(в|v|здесь|zdes|тут|tut)\b"
    r"|\b(в|v)\s+\w+\s+((\d+|два|три|четыре|пять|dva|tri|chetyre|pyat)\s+(дн|dn)\w*|неделю|nedelyu)\b"
    r"|\b(келгениме|келгенимизге|kelgenime|kelgenimizge)\s+(\d+|бир|еки|уш|торт|бес|bir|eki|ush|tort|bes)\s+"
    r"(кун|апта|kun|apta)"
    r"|\b(здесь|тут|zdes|tut)\s+(всего\s+|только\s+|vsego\s+|tolko\s+)?"
    r"((\d+|два|три|четыре|пять|шесть|несколько|dva|tri|chetyre|pyat|shest|neskolko)\s+)?(дн(я|ей)|недел(ю|и)|dn(ya|ei|ey)|nedel(yu|i))\b"
    r"|\b(here|in\s+\w+)\s+(for|just|only|for\s+only|for\s+just)\s+(\d+|one|two|three|four|five|six|few|a)\s+"
    r"(days?|weeks?)"
    r"|\b(here|in\s+\w+)\s+since\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday)\b"
    r"|\bnew\s+(here|in\s+\w+)\b"
    r"|\b(второй|третий|vtoroi|vtoroy|tretii)\s+(день|den)\b|\bsecond\s+day\s+(in|here)\b"
)
# Words start at a boundary; endings are left open (приехал/приехали, келдім/келдік, arrive/arrived).
_ARRIVAL_VERB = _any(
    # Russian, Cyrillic and Latin
    r"\b(при|въ?)ех",
    r"\bприбы",
    r"\bдобрал",
    r"\bприплы",
    r"\bприлет",
    r"\b(пере|за)ш(е|ё)?л\w*.{0,20}границ",
    r"\bпересек",
    r"\b(с|у)?бежа",
    r"\bprie(h|x)",
    r"\bpribyl",
    r"\bdobral",
    r"\bpriply",
    r"\bprilet",
    r"\bperes(h|ch)e?l\w*.{0,20}granic",
    r"\bperesek",
    r"\b(s|u)?be(j|zh)a",
    # Kazakh (folded), Cyrillic and Latin
    r"\bкел(д|г)",
    r"\bкаш(ып|тык|тым|тым)",
    r"\bбосып\s+кел",
    r"\bкир(дик|дим|ип\s+кел)",
    r"\bшекара\w*\s+(\w+\s+)?(от|кес)",
    r"\bжет(тик|тим|кен)",
    r"\bkel(d|g)",
    r"\bkash(yp|tyk|tym)",
    r"\bbosyp\s+kel",
    r"\bkir(dik|dim|ip\s+kel)",
    r"\bshekara\w*\s+(\w+\s+)?(ot|kes)",
    r"\bjet(tik|tim|ken)",
    r"\bv(j|')eh",
    r"\b(пришл\w*|prishl\w*)\s+(через|cherez)",
    # English
    r"\barr?iv",
    r"\bcame\b",
    r"\b(come|arrive)\s+(\d+|one|two|three|four|five|six|few|a)\s+(days?|weeks?)\b",
    r"\bcome\s+(from|to|here)",
    r"\bfled\b",
    r"\bran\s+away",
    r"\bgot\s+(to|here|into)\b",
    r"\bfle(e|d)\s",
    r"\bescap",
    r"\blanded\b",
    r"\bflew\b",
    r"\bcrossed\b",
    r"\b(drove|walked|sailed)\s+(in|into|across|to|here)\b",
    r"\bacross\s+the\s+border\b",
    r"\bentered\b",
    r"\breached\b",
    r"\b(run|ran|escape[sd]?)\s+from\b",
    # second-language English: "I am in Almaty since four days" carries the arrival and the time at once
    _HERE_SINCE,
    r"\b(here|in\s+\w+)\s+(since|for\s+only|only)\s+(\d+|one|two|three|four|five|six|few|a)\s+(days?|weeks?)",
)
_RECENT = _any(
    _HERE_SINCE,
    r"\b(дн(я|ей)|день|сут(ки|ок)|недел(ю|и)|неделю)\s+(наза[дт]|тому)",
    r"\b(вчера|позавчера|сегодня|недавно|только\s+что|толькочто)\b",
    r"\b(дн(я|ей)|день|недел\w*)\s+как\b",
    r"\bна\s+днях\b",
    r"\bво?\s+(понедельник|вторник|среду|четверг|пятницу|субботу|воскресенье)\b",
    r"\bна\s+(прошлой|этой)\s+неделе",
    r"\b(только|тільки)\s+(приех|прилет|прибы|пересек)",
    r"\b(dn(ya|ei|ey)|den|nedel(yu|i))\s+naza[dt]",
    r"\b(vchera|pozavchera|segodnya|nedavno)\b",
    r"\btolko\s+(prie|prilet|pribyl|chto)",
    r"\b(dn(ya|ei|ey)|den|nedel\w*)\s+kak\b",
    r"\bna\s+dn(y|)ah\b",
    r"\bvo?\s+(ponedelnik|vtornik|sredu|chetverg|pyatnicu|subbotu|voskresenie)\b",
    r"\b(кун|апта|kun|apta)\w*\s+(бурын|buryn|boldy|болды|гана|gana|толды|toldy)",
    r"\b(кеше|keshe|бугин|bugin|жуырда|juyrda|алдынгы\s+куни|aldyngy\s+kuni)\b",
    r"\b(жакында|jakynda|таяуда|tayauda|taiauda)\b",
    r"\b(жана|jana)\s+(гана|gana)\b",
    # "жаңа келдік" (just came) and "келгенімізге көп болған жоқ" (not long since we came)
    r"\b(жана|jana)\s+(кел|kel|жет|jet)\w*",
    r"\b(коп|kop)\s+(болган|bolgan)\s+(жок|jok)\b",
    r"\b(дуйсенби|сейсенби|сарсенби|бейсенби|сенби|жексенби)(де|да)?\b",
    r"\b(duisenbi|seisenbi|sarsenbi|beisenbi|senbi|jeksenbi)(de|da)?\b",
    r"\bсагат\w*\s+бурын|\bsagat\w*\s+buryn",
    r"\b(осы|откен|otken|osy)\s+(аптада|aptada)",
    r"\b(days?|weeks?|nights?)\s+ago\b",
    r"\b(\d+|one|two|three|four|five|six|few|a)\s+(days?|weeks?|nights?)\s+(before|back)\b",
    r"\b(last\s+night|this\s+morning|on\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    r"\bjust\s+now\b",
    r"\bday\s+before\s+yesterday\b",
    r"\bsince\s+(\d+|one|two|three|four|five|six|few|a)\s+(days?|weeks?)",
    r"\bsince\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday)\b",
    r"\b(yesterday|today|recently|tonight)\b",
    r"\bjust\s+(arr?iv|came|come|land|fled|cross|got)",
    r"\b(last|this)\s+week\b",
)
# A document word and a negation (or an ending) close together, in either order.
_PAPERS = (
    r"(виз|документ|статус|паспорт|бумаг|кужат|мартеб|кагаз|руксат|разрешени|срок|мерзим|"
    r"viz|dokument|status|pasport|kujat|kuzhat|martebe|ruksat|razreshen|srok|merzim|"
    r"papers?|docs?\b|documents?|visa|passports?|permit|permission)"
)
_NOT = (
    r"(нет|нету|без|ни|никаких|жок|net|bez|ni|nikakih|jok|no|not|none|without|dont|don't|do\s+not|haven't|havent|"
    r"не\s+да(ва)?ли|ne\s+da(va)?li|бермед\w*|bermed\w*|refused|denied|просроч\w*|prosroch\w*|битуге|bituge|"
    r"закончил\w*|исте(к|кл)\w*|кончил\w*|вышел|вышла|битт\w*|бит(ип|кен)|отип\s+кет\w*|"
    r"zakonchil\w*|konchil\w*|istek\w*|vyshel|vyshla|bitti|bit(ip|ken)|otip\s+ket\w*|"
    r"expired|ended|finished|over|ran\s+out)"
)
_NO_STATUS = _any(
    rf"{_PAPERS}\w*(\W+\w+){{0,4}}?\W+{_NOT}\b",
    rf"\b{_NOT}\b(\W+\w+){{0,3}}?\W+{_PAPERS}",
    r"\b(визасыз|кужатсыз|паспортсыз|мартебесиз|vizasyz|kujatsyz|undocumented|illegally)\b",
    r"\b(viza|kujat|pasport|martebe)s[yi]z",
    r"\b(кужатсыз|kujatsyz|зансыз|zansyz|нелегальн|nelegaln)\w*",
    r"\b(мерзими|merzimi)\s+(откен|отип|otken|otip)",
    # nothing on them: the papers left at home, "I have nothing"
    r"\b(остал\w*\s+дома|ostal\w*\s+doma|тастап\s+кет|tastap\s+ket|(left|stay\w*)\s+at\s+home)",
    r"\b(ничего\s+нет|nichego\s+net|ештене\s+жок|eshtene\s+jok|ешнарсе\s+жок|eshnarse\s+jok|have\s+nothing)\b",
)
_REMOVAL = _any(
    # Russian
    r"\bобратно\b",
    r"\bназад\s+(мне\s+|нам\s+)?(нельзя|не\b)",
    r"\b(отправ|вышл|высл|верн|выгон)\w*\s+(\w+\s+)?назад",
    r"\b(домой|на\s+родину)\s+(мне\s+|нам\s+)?нельзя",
    r"\b(вышл|высл|выгон|выгн|депорт|верн(ут|ет|ёт|ули))",
    r"\bдомой\s+нельзя",
    r"\b(убежищ|защит)",
    r"\b(выдвор|экстрадиц|выда(дут|ст))",
    r"\b(отправ|вышл|высл)\w*\s+домой",
    r"\b(отправ|вышл|высл)\w*\s+(нас|меня|его|ее|её)\s+(в|на)\b",
    r"\bубь(ют|ет)\b",
    r"\b(статус\w*|стать)\s+беженц",
    r"\b(преслед|мобилизац)",
    r"\bobratno\b",
    r"\bnazad\s+(mne\s+|nam\s+)?(nel|ne\b)",
    r"\b(otprav|vyshl|vysl|vern)\w*\s+(\w+\s+)?nazad",
    r"\b(vyshl|vysl|vygon|vygn|deport|vern(ut|et|uli))",
    r"\bdomo[iy]\s+(mne\s+|nam\s+)?nel",
    r"\b(ubej|ubezh)is",
    r"\bzas(h|ch)it",
    r"\b(vydvor|ekstradic|extradi)",
    r"\b(otprav|vyshl|vysl)\w*\s+domo",
    r"\b(otprav|vyshl|vysl)\w*\s+(nas|menya|ego|ee)\s+(v|na)\b",
    r"\bub(y|i|iy)?ut\b",
    r"\b(status\w*|stat)\s+be(j|zh)enc",
    r"\b(presled|mobiliz|mobilis)",
    # Kazakh (folded)
    r"\b(кери|keri)\b",
    r"\b(кайтар|kaitar|kaytar)",
    r"\b(кайта\s+алм|кайт(ууга|уга|са|сак|у)\b|kaita\s+alm|kait(uga|sa|sak|u)\b)",
    r"\b(олтиред|oltired)",
    r"\b(боскын|boskyn)\w*\s+(болып|болу|ретинде|мартеб|bolyp|bolu|retinde|martebe)",
    r"\b(шыгарып|куып|shygaryp|kuyp|kuip)\s+(жибер|jiber)",
    r"\b(пана|pana)\b",
    # «баспана» is housing (legal_facts §12), but people write «баспана сұраймын» for asylum: only asking for it
    # counts, never «уақытша баспана керек» (a place to sleep)
    r"\b(баспана|baspana)\s+(сура|sura)",
    r"\b(корга|korga)",
    # English
    r"\bsen[dt]\s+(me|us|them|him|her)?\s*back",
    r"\bsen[dt]\s+(me|us|them|him|her)\s+home\b",
    r"\b(go|going|return)\s+back\b",
    r"\b(deport|expel|returned\b|return\s+(me|us)\b)",
    r"\bcan'?n?o?t\s+go\s+(back|home)",
    r"\b(asylum|protection)\b",
    r"\b(as\s+(a\s+)?refugees?|refugee\s+status)\b",
    r"\b(want|wants|get|gets|take|takes)\s+(me|us|them)\s+back\b",
    r"\breturning\s+(me|us|them)\b",
    r"\b(send|sent|deport\w*|return)\s+(me|us|them|him|her)\s+to\b",
    r"\bcan'?n?o?t\s+return\b",
    r"\bask\s+to\s+stay\b",
    r"\bpersecut",
    r"\bkill\s+(me|us|him|her|them)\b",
)
_DANGER_AT_HOME = _any(
    r"\b(дома|на\s+родине|елде|елимде|doma|na\s+rodine|elde|elimde|at\s+home|back\s+home)\b.{0,40}?"
    r"\b(посад|тюрьм|ищ|иск|преслед|арест|убь|posad|tyurm|ish|isk|presled|arest|ub(y|i)|турмег|turmeg|туткын|tutkyn|"
    r"изде|izde|камад|kamad|олтир|oltir|prison|jail|arrest|want\s+me|looking\s+for|kill|войн|voin|war\b)",
    r"\b(arrested|арестовал\w*|посадил\w*|камады|kamady)\s+(\w+\s+)?(at\s+home|дома|doma|елде|elde)\b",
)
# «келді» of a letter, an answer or a decision ("хат келді": a letter came) is no one arriving.
_THING_CAME = re.compile(r"\b(хат|hat|жауап|jauap|шешим|sheshim|смс|sms|хабар|habar)\w*\s+(кел|kel)\w*")

# A roof for tonight asked for: a housing question (housing_rent) unless fear of removal is voiced too.
_SHELTER = _any(
    r"\b(уакытша\s+(баспана|орын)|uakytsha\s+(baspana|oryn)|тунейтин|tuneitin|тунеп|tunep|жатакхана|jatakhana)",
    r"\b(ночевать|ночлег|приют|временн\w+\s+жиль|nochevat|nochleg|priyut|vremenn\w+\s+jil)",
    r"\b(shelter|hostel|place\s+to\s+sleep|where\s+(can\s+)?(we|i)\s+sleep)",
)
# Someone already held: the detention topic's story ("they detained my brother who came yesterday").
_DETAINED = _any(
    r"\b(устап\s+ал|устады|устап\s+отыр|ustap\s+al|ustady|камауга\s+алд|kamauga\s+ald)",
    r"\b(задерж|zaderj|zaderzh|спецпри|specpri)",
    r"\b(detained|arrested|in\s+custody|held\s+for\s+deport)",
)
# An ordinary reason to be in the country: a visa question, not a flight from danger.
_ORDINARY_STAY = _any(
    r"\b(турист|студент|учеб|учит|работ|командиров|бизнес|туризм)",
    r"\b(turist|student|ucheb|rabot|komandirov|biznes)",
    r"\b(оку|окуга|окимын|жумыс|саяхат|конакка)",
    r"\b(oku|okimyn|jumys|saiahat|sayahat|konakka)",
    r"\b(заработ|zarabot|в\s+гости|v\s+gosti)",
    r"\b(tourist|tourism|holiday|vacation|student|study|studies|studying|university|work\s+visa|business\s+trip)",
    r"\b(to\s+work|for\s+work|a\s+job|to\s+visit|visiting)\b",
)


class ArrivalCues:
    """Which cue families a text carries, each searched only when first asked.

    Most texts are no arrival story, and `arrival` comes first in both `strong` and `partial`: for them the
    two searches of that family decide, and the other families are never searched.
    """

    def __init__(self, text: str) -> None:
        self._folded = fold(text)

    @cached_property
    def arrival(self) -> bool:  # an arrival verb and a recent time
        return bool(_ARRIVAL_VERB.search(_THING_CAME.sub(" ", self._folded)) and _RECENT.search(self._folded))

    @cached_property
    def no_status(self) -> bool:
        return bool(_NO_STATUS.search(self._folded))

    @cached_property
    def removal(self) -> bool:
        return bool(_REMOVAL.search(self._folded) or _DANGER_AT_HOME.search(self._folded))

    @cached_property
    def ordinary_stay(self) -> bool:
        return bool(_ORDINARY_STAY.search(self._folded))

    @cached_property
    def detained(self) -> bool:
        return bool(_DETAINED.search(self._folded))

    @cached_property
    def shelter(self) -> bool:
        return bool(_SHELTER.search(self._folded))

    @property
    def strong(self) -> bool:
        return self.arrival and self.no_status and self.removal

    @property
    def partial(self) -> bool:
        """A recent arrival with one other family; no ordinary purpose of stay and no shelter asked for unless
        fear is voiced; and nobody held yet (a detention story names the arrival too: "my brother who came
        yesterday was detained")."""
        return (
            self.arrival
            and (self.no_status or self.removal)
            and (self.removal or not (self.ordinary_stay or self.shelter))
            and not self.detained
        )


def arrival_cues(text: str) -> ArrivalCues:
    return ArrivalCues(text)


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
    if not (cues.strong or (guessed and cues.partial)):
        return result
    own = next((s.confidence for s in result.ranking if s.name == ASYLUM_APPLY), 0.0)
    lifted = IntentScore(ASYLUM_APPLY, max(own, top.confidence))
    return Classification(ranking=(lifted, *(s for s in result.ranking if s.name != ASYLUM_APPLY)))
