"""`pana content check | show | review | export`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.catalog import ContentCatalog
from bot.content.check import check_catalog, check_ui_strings
from bot.content.loader import read_catalog
from bot.content.reviews import (
    REVIEWS_FILE,
    LastSignOff,
    SignOff,
    content_version,
    latest,
    record_review,
    topic_sign_off,
)
from bot.content.schema import TopicEntry
from bot.core.answers import Answers
from bot.i18n import Translations, catalog_strings
from bot.languages import LANGUAGES, Language
from bot.settings import DatabaseSettings, Settings


def run_content(args: argparse.Namespace, settings: Settings) -> int:
    catalog = read_catalog(settings.pana.content_dir)
    if args.content_command == "check":
        return _check(catalog, settings)
    if args.content_command == "show":
        return _show(catalog, settings, args.topic, args.lang)
    if args.content_command == "review":
        return _review(catalog, settings, args.topic, args.by, args.note)
    return _export(catalog, settings)


def _export(catalog: ContentCatalog, settings: Settings) -> int:
    """Every topic as JSON on stdout, with the sign-off that stands for it (the same rule as `check`)."""
    web = web_sign_offs_of(settings.database)
    if not web.read:  # stderr: stdout stays JSON a review tool can parse
        print(f"pana: web sign-offs: {web.note}", file=sys.stderr)
    exported = [_exported(entry, catalog, web.marks.get(entry.id)) for entry in catalog.topics.values()]
    json.dump(exported, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def _check(catalog: ContentCatalog, settings: Settings) -> int:
    web = web_sign_offs_of(settings.database)
    web_sign_offs = web.marks
    problems = check_catalog(catalog, web_sign_offs=web_sign_offs)
    problems += check_ui_strings(catalog_strings(settings.pana.locales_dir, "kk"))
    for problem in problems:
        print(problem)
    for entry in catalog.topics.values():
        state, mark = topic_sign_off(entry, catalog.reviews, web_sign_offs.get(entry.id))
        if state is SignOff.CURRENT and mark is not None:
            print(f"signed off: topics/{entry.id}.yml by {mark.by} on {mark.on} ({mark.source})")
    print(f"web sign-offs: {web.note}")
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    print(f"{len(catalog.topics)} topics checked: {errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


FILE_ONLY = "only content/reviews.yml counts"


@dataclass(frozen=True, slots=True)
class WebSignOffs:
    """Each topic's latest sign-off on the web console, whether the database was read, and a note saying so."""

    marks: dict[str, LastSignOff]
    read: bool
    note: str


def web_sign_offs_of(database: DatabaseSettings) -> WebSignOffs:
    """Each topic's latest sign-off on the web console, and a note on where they came from or why none.

    The check must work without a database (CI, a content editor's laptop): a SQLite file that does not exist
    is not created, and a database that cannot be read leaves the file's sign-offs to decide alone.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(database.url.get_secret_value())
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return WebSignOffs({}, False, f"none read: no database ({FILE_ONLY})")
    try:
        marks = asyncio.run(_read_web_sign_offs(database))
    except (SQLAlchemyError, OSError, TimeoutError) as error:  # not migrated, not running, refused
        note = f"none read: the database could not be read ({type(error).__name__}; {FILE_ONLY})"
        return WebSignOffs({}, False, note)
    return WebSignOffs(marks, True, f"read from the database ({len(marks)} topic(s) signed off there)")


async def _read_web_sign_offs(database: DatabaseSettings) -> dict[str, LastSignOff]:
    from bot.keys import Keyring, new_key
    from bot.storage.database import create_engine, session_factory
    from bot.storage.signoffs import SqlSignOffStore

    # Sign-offs hold no sealed column: a throwaway key, so checking content never writes a key file to var/.
    engine = create_engine(database, Keyring.parse(new_key()))
    try:
        found = await SqlSignOffStore(session_factory(engine)).latest()
    finally:
        await engine.dispose()
    return {topic: LastSignOff(mark.by, mark.at.date(), mark.version, on_web=True) for topic, mark in found.items()}


def _show(catalog: ContentCatalog, settings: Settings, topic: str, language: Language) -> int:
    entry = catalog.topics.get(topic)
    if entry is None:
        print(f"pana: no content entry {topic!r}", file=sys.stderr)
        return 1
    answers = Answers.translated(catalog, Translations(settings.pana.locales_dir), language)
    replies = answers.topic(entry)
    for followup in entry.followups:
        reply = answers.followup(entry, followup.id)
        if reply:
            replies.append(reply)
    for reply in replies:
        print(reply.text)
        for option in reply.options:
            print(f"  [{option.label}]")
        print("-" * 40)
    return 0


def _review(catalog: ContentCatalog, settings: Settings, topic: str, by: str, note: str | None) -> int:
    entry = catalog.topics.get(topic)
    if entry is None:
        print(f"pana: no content entry {topic!r}", file=sys.stderr)
        return 1
    if any(p.startswith(REVIEWS_FILE) for p in catalog.problems):
        # Rewriting a file we could not read would drop the sign-offs in it.
        print(f"pana: content/{REVIEWS_FILE} cannot be read; fix it first (pana content check)", file=sys.stderr)
        return 1
    if not by.strip():
        print("pana: --by needs the reviewer's name", file=sys.stderr)
        return 1
    review = record_review(settings.pana.content_dir, entry, catalog.reviews, by.strip(), note)
    print(f"{topic}: version {review.version} signed off by {review.by} on {review.on}")
    return 0


def _exported(entry: TopicEntry, catalog: ContentCatalog, on_web: LastSignOff | None) -> dict[str, Any]:
    state, mark = topic_sign_off(entry, catalog.reviews, on_web)
    return {
        "id": entry.id,
        "text": {language: entry.answer.get(language) for language in LANGUAGES},
        "followups": [
            {"id": f.id, "label": f.label.model_dump(), "text": f.text.model_dump()} for f in entry.followups
        ],
        "sources": [s.model_dump(mode="json") for s in entry.sources],
        "verify": list(entry.verify),
        "reviewed_on": entry.reviewed_on.isoformat(),
        "review_by": entry.review_by.isoformat(),
        "version": content_version(entry),
        "sign_off": {"state": state.name.lower(), "last": _standing(mark, catalog, entry.id)},
    }


def _standing(mark: LastSignOff | None, catalog: ContentCatalog, topic: str) -> dict[str, str] | None:
    """The sign-off that decides the topic's state: who, when, which version, and where (file or web)."""
    if mark is None:
        return None
    standing = {
        "by": mark.by,
        "on": mark.on.isoformat(),
        "version": mark.version,
        "where": "web" if mark.on_web else "file",
    }
    found = None if mark.on_web else latest(catalog.reviews, topic)
    if found is not None and found.note:
        standing["note"] = found.note
    return standing
