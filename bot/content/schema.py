"""The shape of the curated content files, validated at start-up."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from bot.languages import LANGUAGES, Language

ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """The same text in every language of bot/languages.py (one field each; a test checks they agree)."""

    kk: str
    ru: str
    en: str

    def get(self, language: Language) -> str:
        return str(getattr(self, language)).strip()

    @field_validator(*LANGUAGES)
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class Source(_Strict):
    fact: str = Field(min_length=1, description="the fact id in shared/spec/legal_facts.md")
    url: HttpUrl
    date: str = Field(min_length=1, description="the source's date as legal_facts.md gives it")


class FactSource(_Strict):
    url: HttpUrl
    date: str = Field(min_length=1, description="the date the page itself shows, or 'undated'")


class Fact(_Strict):
    """One researched fact in content/facts.yml, recorded so a lawyer can check it against its sources."""

    id: str = Field(pattern=ID_PATTERN)
    statement: str = Field(min_length=1, description="the fact in English, no more than the sources say")
    sources: tuple[FactSource, ...] = Field(min_length=1)
    seen_on: dt.date
    # P primary law text, U UNHCR, S secondary (portals, news, law firms), X uncertain: as in legal_facts.md
    confidence: Literal["P", "U", "S", "X"]
    lawyer_verify: bool
    topics: tuple[str, ...] = Field(min_length=1)


class FollowUp(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    label: Localized
    text: Localized


class ContactSelection(_Strict):
    kinds: tuple[str, ...] = Field(min_length=1)


class TopicEntry(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    reviewed_on: dt.date
    review_by: dt.date
    verify: tuple[str, ...] = ()
    sources: tuple[Source, ...] = Field(min_length=1)
    answer: Localized
    followups: tuple[FollowUp, ...] = ()
    contacts: ContactSelection | None = None

    def followup(self, followup_id: str) -> FollowUp | None:
        return next((f for f in self.followups if f.id == followup_id), None)


class City(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    names: Localized
    aliases: tuple[str, ...] = ()

    @functools.cached_property
    def named(self) -> re.Pattern[str]:
        """Any of the city's names or aliases, lowercased, starting a word: compiled once per loaded city.

        bot/content/render.py `find_city` built and searched one pattern per spelling on every call (~140 us
        for a text that names no city, once per answered question).
        """
        spellings = sorted({*(self.names.get(code) for code in LANGUAGES), *self.aliases})
        return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(spelling.lower()) for spelling in spellings)})")


class Organisation(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    kinds: tuple[str, ...] = Field(min_length=1)
    name: Localized
    what: Localized
    city: str | None = None
    address: Localized | None = None
    phones: tuple[str, ...] = ()
    hours: Localized | None = None
    url: HttpUrl | None = None
    sources: tuple[Source, ...] = Field(min_length=1)


class Directory(_Strict):
    cities: tuple[City, ...] = ()
    organisations: tuple[Organisation, ...] = ()


class MenuCategory(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    label: Localized
    topics: tuple[str, ...] = Field(min_length=1)


class Menu(_Strict):
    """How topics are grouped for browsing, and each topic's short title."""

    categories: tuple[MenuCategory, ...] = Field(min_length=1)
    titles: dict[str, Localized]


class Review(_Strict):
    """One lawyer's sign-off of one version of a topic."""

    topic: str = Field(pattern=ID_PATTERN)
    version: str = Field(pattern=r"^[0-9a-f]{16}$", description="bot.content.reviews.content_version")
    by: str = Field(min_length=1)
    on: dt.date
    note: str | None = None


class ReviewLog(_Strict):
    reviews: tuple[Review, ...] = ()
