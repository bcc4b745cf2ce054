"""What lawyers read about a case, in their own language.

Announcements and the queue show only what a lawyer needs to choose a case (number, urgency,
language, channel, topic, waiting time). The person's words are shown only to the lawyer who took it.
"""

from __future__ import annotations

import re

from bot.core.answers import Answers
from bot.core.messages import Option
from bot.core.ports import ContentCatalog
from bot.handoff.notices import CITY_NAMES
from bot.hours import WorkingHours
from bot.i18n import Translator
from bot.languages import Language
from bot.records.cases import CaseRecord, Reason

TAKE = "take"  # payload kind of the "Take" button; only the lawyers' router acts on it
OPTION_NUMBER = re.compile(r"[0-9]{1,2}")  # a typed option: it tells a lawyer nothing
QUOTE_CHARS = 300  # of each message in a summary: enough to understand, short enough to scan


def take_payload(case_id: int) -> str:
    return f"{TAKE}:{case_id}"


def quote(texts: list[str]) -> str:
    return "\n".join(f"— {text[:QUOTE_CHARS]}" for text in texts)


def person_words(texts: list[str]) -> list[str]:
    """What the person wrote in their own words: not blank, not a bare option number ("1" to pick consent)."""
    return [text for text in texts if text.strip() and not OPTION_NUMBER.fullmatch(text.strip())]


class CaseCards:
    def __init__(self, catalog: ContentCatalog, translator: Translator, hours: WorkingHours) -> None:
        self._catalog = catalog
        self._translator = translator
        self._hours = hours

    def _(self, message: str, language: Language) -> str:
        return self._translator.gettext(message, language)

    def line(self, case: CaseRecord, language: Language) -> str:
        """ "URGENT · #12 · ru · telegram · Detention · asked for a lawyer · since 23.11 14:05"."""
        parts = [self._("URGENT", language)] if case.urgent else []
        topic = Answers(self._catalog, language, lambda m: m).title(case.topic) if case.topic else None
        reason = {
            Reason.ASKED: self._("asked for a lawyer", language),
            Reason.URGENT: self._("urgent topic", language),
            Reason.NOT_UNDERSTOOD: self._("Pana did not understand twice", language),
        }[case.reason]
        since = case.created_at.astimezone(self._hours.zone).strftime("%d.%m %H:%M")
        parts += [f"#{case.id}", case.language, case.channel, topic or self._("no topic", language), reason]
        parts.append(self._("since {time}", language).format(time=since))
        return " · ".join(parts)

    def take_option(self, case: CaseRecord, language: Language) -> Option:
        return Option(self._("Take #{case}", language).format(case=case.id), take_payload(case.id))

    def announcement(self, case: CaseRecord, language: Language) -> str:
        title = self._("New case waiting for a lawyer:", language)
        return f"{title}\n{self.line(case, language)}"

    def card(self, case: CaseRecord, language: Language, *, since_opened: list[str], notes: list[str]) -> str:
        """The whole case for the lawyer who holds it."""
        _ = self._
        blocks = [_("Case #{case} is yours.", language).format(case=case.id), self.line(case, language)]
        if case.city in CITY_NAMES:
            city = _(CITY_NAMES[case.city], language)
            blocks[-1] += "\n" + _("City: {city}", language).format(city=city)
        if case.summary:
            blocks.append(_("Their messages before the case opened:", language) + "\n" + case.summary)
        if since_opened:
            blocks.append(_("Since the case opened:", language) + "\n" + quote(since_opened))
        if notes:
            blocks.append(_("Internal notes:", language) + "\n" + quote(notes))
        blocks.append(self.help(case.id, language))
        return "\n\n".join(blocks)

    def help(self, case_id: int | str, language: Language) -> str:
        return self._(
            "Reply to any message of this case, or simply write here after /take: your message goes to the person, "
            "marked as coming from a lawyer. /close {case} [outcome] closes the case, /release {case} puts it back "
            "in the queue, /note {case} text adds an internal note (the person never sees it). "
            "/queue lists waiting cases, /mine your cases.",
            language,
        ).format(case=case_id)
