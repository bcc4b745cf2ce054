"""`pana content check | show | export`."""

from __future__ import annotations

import argparse
import json
import sys

from bot.content.check import check_catalog
from bot.content.loader import read_catalog
from bot.core.answers import Answers
from bot.i18n import Translations
from bot.languages import LANGUAGES
from bot.settings import Settings


def run_content(args: argparse.Namespace, settings: Settings) -> int:
    catalog = read_catalog(settings.pana.content_dir)
    if args.content_command == "check":
        problems = check_catalog(catalog)
        for problem in problems:
            print(problem)
        errors = sum(p.is_error for p in problems)
        warnings = len(problems) - errors
        print(f"{len(catalog.topics)} topics checked: {errors} error(s), {warnings} warning(s)")
        return 1 if errors else 0
    if args.content_command == "show":
        entry = catalog.topics.get(args.topic)
        if entry is None:
            print(f"pana: no content entry {args.topic!r}", file=sys.stderr)
            return 1
        translations = Translations(settings.pana.locales_dir)
        answers = Answers.translated(catalog, translations, args.lang)
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
    entries = [
        {
            "id": entry.id,
            "text": {language: entry.answer.get(language) for language in LANGUAGES},
            "followups": [
                {"id": f.id, "label": f.label.model_dump(), "text": f.text.model_dump()} for f in entry.followups
            ],
            "sources": [s.model_dump(mode="json") for s in entry.sources],
            "verify": list(entry.verify),
            "reviewed_on": entry.reviewed_on.isoformat(),
            "review_by": entry.review_by.isoformat(),
        }
        for entry in catalog.topics.values()
    ]
    json.dump(entries, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0
