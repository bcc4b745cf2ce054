"""The validated content the assistant answers from (read by bot/content/loader.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.content.intents import IntentSpec
from bot.content.schema import Directory, Fact, Menu, Organisation, Review, TopicEntry

__all__ = ["ContentCatalog"]


@dataclass(frozen=True)
class ContentCatalog:
    """Everything the core answers from, validated."""

    intents: dict[str, IntentSpec]
    topics: dict[str, TopicEntry]
    directory: Directory
    menu: Menu
    facts: dict[str, Fact] = field(default_factory=dict)
    problems: tuple[str, ...] = field(default=())
    reviews: tuple[Review, ...] = field(default=())  # lawyers' sign-offs, content/reviews.yml

    def is_topic(self, intent: str) -> bool:
        spec = self.intents.get(intent)
        return spec is not None and spec.kind == "topic"

    def is_urgent(self, intent: str) -> bool:
        spec = self.intents.get(intent)
        return spec is not None and spec.urgent

    def organisations(self, kinds: tuple[str, ...], city: str | None = None) -> list[Organisation]:
        """Organisations of the given kinds; with a city, those there plus the ones serving everyone."""
        chosen = [o for o in self.directory.organisations if set(o.kinds) & set(kinds)]
        if city is None:
            return chosen
        local = [o for o in chosen if o.city in (city, None)]
        return local or chosen
