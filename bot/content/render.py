"""Turn content entries and directory records into plain text in one language."""

from __future__ import annotations

from bot.content.schema import Directory, Organisation
from bot.languages import Language

CHUNK_LIMIT = 1500  # leaves room under WhatsApp's 1600 characters


def describe_organisation(org: Organisation, language: Language, directory: Directory) -> str:
    lines = [f"• {org.name.get(language)}", f"  {org.what.get(language)}"]
    city = next((c for c in directory.cities if c.id == org.city), None)
    if org.address:
        place = f"{city.names.get(language)}, " if city else ""
        lines.append(f"  {place}{org.address.get(language)}")
    elif city:
        lines.append(f"  {city.names.get(language)}")
    if org.phones:
        lines.append("  " + ", ".join(org.phones))
    if org.hours:
        lines.append(f"  {org.hours.get(language)}")
    if org.url:
        lines.append(f"  {org.url}")
    return "\n".join(lines)


def organisation_blocks(orgs: list[Organisation], language: Language, directory: Directory) -> list[str]:
    """Organisations as text blocks, packed into as few messages as fit the channel limits."""
    chunks: list[str] = []
    for block in (describe_organisation(o, language, directory) for o in orgs):
        if chunks and len(chunks[-1]) + len(block) + 2 <= CHUNK_LIMIT:
            chunks[-1] += "\n\n" + block
        else:
            chunks.append(block)
    return chunks


def find_city(text: str, directory: Directory) -> str | None:
    """The city a user names in a message, by name or by a common spelling (the first in the directory's order)."""
    lowered = text.lower()
    return next((city.id for city in directory.cities if city.named.search(lowered)), None)
