"""Cross-checks between topics and content/facts.yml, the researched facts a lawyer reviews.

A topic's `sources` and `verify` entries name either a fact of /work/shared/spec/legal_facts.md
(ids such as A3, N1, §11, which live outside this repository) or a fact of content/facts.yml
(lower-case snake_case ids). The second kind must exist, be cited with one of its own sources, and
list the topics that use it, so the record a lawyer signs off matches what users read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from bot.content.schema import ID_PATTERN, Fact, TopicEntry


def is_facts_file_id(reference: str) -> bool:
    """Whether a topic's fact reference points into content/facts.yml rather than legal_facts.md."""
    return re.fullmatch(ID_PATTERN, reference) is not None


def fact_reference_problems(topics: Mapping[str, TopicEntry], facts: Mapping[str, Fact]) -> Iterator[str]:
    """Every mismatch between the topics' citations and content/facts.yml, as one message each."""
    cited_by: dict[str, set[str]] = {}
    for entry in topics.values():
        yield from _entry_references(entry, facts, cited_by)
    for fact in facts.values():
        users = cited_by.get(fact.id, set())
        for topic in sorted(set(fact.topics) - users):
            yield f"facts.yml: {fact.id}: lists topic {topic!r}, which does not cite it"
        for topic in sorted(users - set(fact.topics)):
            yield f"facts.yml: {fact.id}: cited by topic {topic!r}, which it does not list under topics"
        if fact.lawyer_verify:
            for topic in sorted(users):
                if fact.id not in topics[topic].verify:
                    yield f"topics/{topic}.yml: fact {fact.id!r} needs a lawyer's check but is not under verify"


def _entry_references(entry: TopicEntry, facts: Mapping[str, Fact], cited_by: dict[str, set[str]]) -> Iterator[str]:
    where = f"topics/{entry.id}.yml"
    for source in entry.sources:
        if not is_facts_file_id(source.fact):
            continue
        fact = facts.get(source.fact)
        if fact is None:
            yield f"{where}: source fact {source.fact!r} is not in content/facts.yml"
            continue
        cited_by.setdefault(fact.id, set()).add(entry.id)
        recorded = {str(s.url): s.date for s in fact.sources}
        url = str(source.url)
        if url not in recorded:
            yield f"{where}: fact {fact.id!r} is cited with {url}, which is not among its sources in facts.yml"
        elif recorded[url] != source.date:
            yield f"{where}: fact {fact.id!r}: date {source.date!r} differs from facts.yml ({recorded[url]!r})"
    for reference in entry.verify:
        if is_facts_file_id(reference) and reference not in facts:
            yield f"{where}: verify names {reference!r}, which is not in content/facts.yml"
