"""`pana content check`: every problem of the curated content, errors and warnings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bot.content.catalog import ContentCatalog
from bot.content.facts import fact_reference_problems
from bot.content.reviews import LastSignOff, SignOff, topic_sign_off
from bot.content.schema import Localized, TopicEntry
from bot.content.wording import asylum_as_housing, lawyer_promise
from bot.languages import LANGUAGES

WHATSAPP_LIMIT = 1600  # characters per WhatsApp message (Twilio error 21617)
DISCLAIMER_ROOM = 300  # the bot appends a one-line disclaimer to every answer
ANSWER_LIMIT = 600  # a main answer must fit a phone screen: next steps first, caveats in follow-ups
FOLLOWUP_TARGET = 1200
LABEL_LIMIT = 30
EMERGENCY_NUMBER = "112"  # legal_facts.md §11a N1: free from any phone, day and night
REVIEW_WARNING_DAYS = 60

PHONE = re.compile(r"\+?\d[\d \-()]{6,}\d")
URL = re.compile(r"https?://[^\s,;)»\"']+|\b(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:kz|org|com|net|int)\b[^\s,;)»]*")
PLACEHOLDER = re.compile(r"\b(?:TODO|TBD|FIXME|XXX)\b|lorem ipsum|\{[^}]*\}|\[[^\]]*\]|<[^>]+>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    is_error: bool = True
    # A review date that passed: CI and `pana content check` fail on it, a running service only warns,
    # because a restart on that day must not take Pana away from everyone.
    overdue: bool = False

    def __str__(self) -> str:
        return f"{'ERROR' if self.is_error else 'warning'}: {self.message}"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _bare_url(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url.strip().rstrip("/.")).lower()


def check_catalog(
    catalog: ContentCatalog, today: dt.date | None = None, web_sign_offs: Mapping[str, LastSignOff] | None = None
) -> list[Problem]:
    """Every problem; `web_sign_offs` (each topic's latest on the web console) count beside content/reviews.yml."""
    today = today or dt.date.today()
    problems = [Problem(p) for p in catalog.problems]
    problems += list(_coverage(catalog))
    known_phones = {_digits(p) for o in catalog.directory.organisations for p in o.phones}
    directory_urls = {_bare_url(str(o.url)) for o in catalog.directory.organisations if o.url}
    for entry in catalog.topics.values():
        problems += list(_entry(entry, catalog, today, known_phones, directory_urls))
    problems += list(_directory(catalog))
    problems += list(_menu(catalog))
    problems += [Problem(message) for message in fact_reference_problems(catalog.topics, catalog.facts)]
    problems += list(_wording(catalog))
    problems += list(_sign_offs(catalog, web_sign_offs or {}))
    return problems


def _coverage(catalog: ContentCatalog) -> Iterator[Problem]:
    for spec in catalog.intents.values():
        if spec.kind == "topic" and spec.id not in catalog.topics:
            yield Problem(f"intent {spec.id!r} has no content entry (content/topics/{spec.id}.yml)")


def _texts(entry: TopicEntry) -> Iterator[tuple[str, Localized, int, int]]:
    """Every localized text of an entry with its name, target length and hard limit."""
    yield "answer", entry.answer, ANSWER_LIMIT, ANSWER_LIMIT
    for followup in entry.followups:
        yield f"followups.{followup.id}.text", followup.text, FOLLOWUP_TARGET, WHATSAPP_LIMIT - DISCLAIMER_ROOM
        yield f"followups.{followup.id}.label", followup.label, LABEL_LIMIT, LABEL_LIMIT


def _entry(
    entry: TopicEntry,
    catalog: ContentCatalog,
    today: dt.date,
    known_phones: set[str],
    directory_urls: set[str],
) -> Iterator[Problem]:
    where = f"topics/{entry.id}.yml"
    if entry.review_by <= today:
        yield Problem(f"{where}: review_by {entry.review_by} has passed: re-check the facts", overdue=True)
    elif entry.review_by <= today + dt.timedelta(days=REVIEW_WARNING_DAYS):
        yield Problem(f"{where}: review_by {entry.review_by} is within {REVIEW_WARNING_DAYS} days", False)
    if entry.reviewed_on > today:
        yield Problem(f"{where}: reviewed_on {entry.reviewed_on} is in the future")
    if catalog.is_urgent(entry.id):
        for language in LANGUAGES:
            if EMERGENCY_NUMBER not in entry.answer.get(language).splitlines()[0]:
                yield Problem(f"{where}: answer.{language}: an urgent topic gives {EMERGENCY_NUMBER} in its first line")
    if len({f.id for f in entry.followups}) != len(entry.followups):
        yield Problem(f"{where}: follow-up ids repeat")
    source_urls = {_bare_url(str(s.url)) for s in entry.sources} | directory_urls
    for name, localized, target, limit in _texts(entry):
        for language in LANGUAGES:
            text = localized.get(language)
            label = f"{where}: {name}.{language}"
            if len(text) > limit:
                yield Problem(f"{label}: {len(text)} characters, over the limit of {limit}")
            elif len(text) > target:
                yield Problem(f"{label}: {len(text)} characters, longer than the {target} aimed for", False)
            if PLACEHOLDER.search(text):
                yield Problem(f"{label}: leftover placeholder {PLACEHOLDER.search(text).group()!r}")  # type: ignore[union-attr]
            for phone in PHONE.findall(text):
                if _digits(phone) not in known_phones:
                    yield Problem(f"{label}: phone {phone.strip()!r} is not in content/contacts.yml")
            for url in URL.findall(text):
                bare = _bare_url(url)
                if not any(bare.startswith(known) or known.startswith(bare) for known in source_urls):
                    yield Problem(f"{label}: URL {url!r} is not among the entry's sources")
    if entry.contacts:
        for kind in entry.contacts.kinds:
            if not catalog.organisations((kind,)):
                yield Problem(f"{where}: contacts kind {kind!r} matches no organisation in contacts.yml")


def check_ui_strings(kazakh: dict[str, str]) -> list[Problem]:
    """The Kazakh UI catalog (msgid to msgstr) follows the asylum wording rule too."""
    problems = []
    for msgid, text in sorted(kazakh.items()):
        misused = asylum_as_housing(text)
        if misused:
            problems.append(Problem(f"locales/kk: {msgid[:40]!r}: «{misused}» uses «баспана» for asylum"))
    return problems


def _shown_texts(catalog: ContentCatalog) -> Iterator[tuple[str, Localized]]:
    """Every localized text a person can see, named by file and field."""
    for entry in catalog.topics.values():
        for name, localized, _target, _limit in _texts(entry):
            yield f"topics/{entry.id}.yml: {name}", localized
    for category in catalog.menu.categories:
        yield f"menu.yml: categories.{category.id}.label", category.label
    for topic, title in catalog.menu.titles.items():
        yield f"menu.yml: titles.{topic}", title
    for org in catalog.directory.organisations:
        for field in ("name", "what", "address", "hours"):
            value = getattr(org, field)
            if value is not None:
                yield f"contacts.yml: {org.id}.{field}", value


def _wording(catalog: ContentCatalog) -> Iterator[Problem]:
    for where, localized in _shown_texts(catalog):
        misused = asylum_as_housing(localized.kk)
        if misused:
            yield Problem(f"{where}.kk: «{misused}» uses «баспана» (housing) for asylum: write «пана»")
        for language in LANGUAGES:
            promise = lawyer_promise(localized.get(language))
            if promise:
                yield Problem(
                    f"{where}.{language}: promises a lawyer at once ({promise[:60]!r}); "
                    "the bot says when lawyers are available"
                )


def _sign_offs(catalog: ContentCatalog, web_sign_offs: Mapping[str, LastSignOff]) -> Iterator[Problem]:
    for entry in catalog.topics.values():
        state, mark = topic_sign_off(entry, catalog.reviews, web_sign_offs.get(entry.id))
        if state is SignOff.NEVER:
            yield Problem(f"topics/{entry.id}.yml: {state.value} by a lawyer (pana content review)", False)
        elif state is SignOff.CHANGED and mark is not None:
            last = f"last: {mark.by}, {mark.on}, in {mark.source}"
            yield Problem(f"topics/{entry.id}.yml: {state.value} by a lawyer ({last}; pana content review)", False)
    for review in catalog.reviews:
        if review.topic not in catalog.topics:
            yield Problem(f"reviews.yml: sign-off of unknown topic {review.topic!r}", False)


def _directory(catalog: ContentCatalog) -> Iterator[Problem]:
    cities = {c.id for c in catalog.directory.cities}
    seen: set[str] = set()
    for org in catalog.directory.organisations:
        if org.id in seen:
            yield Problem(f"contacts.yml: organisation id {org.id!r} repeats")
        seen.add(org.id)
        if org.city is not None and org.city not in cities:
            yield Problem(f"contacts.yml: {org.id}: unknown city {org.city!r}")
    if not catalog.directory.organisations:
        yield Problem("contacts.yml: no organisations")


def _menu(catalog: ContentCatalog) -> Iterator[Problem]:
    topics = {i.id for i in catalog.intents.values() if i.kind == "topic"}
    listed = {t for c in catalog.menu.categories for t in c.topics}
    for missing in sorted(topics - listed):
        yield Problem(f"menu.yml: topic {missing!r} is in no category")
    for unknown in sorted(listed - topics):
        yield Problem(f"menu.yml: {unknown!r} is not a topic intent")
    for missing in sorted(topics - set(catalog.menu.titles)):
        yield Problem(f"menu.yml: topic {missing!r} has no title")
    for topic, title in catalog.menu.titles.items():
        for language in LANGUAGES:
            if len(title.get(language)) > LABEL_LIMIT + 10:
                yield Problem(f"menu.yml: title of {topic}.{language} is too long for a button")
