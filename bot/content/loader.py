"""Load and validate content/: topics, the contacts directory and the menu."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.content.catalog import ContentCatalog
from bot.content.check import check_catalog
from bot.content.intents import load_intents
from bot.content.reviews import REVIEWS_FILE
from bot.content.schema import Directory, Fact, Menu, ReviewLog, TopicEntry
from bot.errors import ContentInvalid

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        problems.append(f"{path.name}: cannot read YAML: {error}")
        return None


def _validate(model: type[M], data: Any, where: str, problems: list[str]) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "(file)"
            problems.append(f"{where}: {location}: {item['msg']}")
        return None


def _read_facts(path: Path, problems: list[str]) -> dict[str, Fact]:
    data = _read_yaml(path, problems)
    items = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(f"{path.name}: expected a list under 'facts'")
        return {}
    facts: dict[str, Fact] = {}
    for number, item in enumerate(items):
        fact = _validate(Fact, item, f"{path.name}: facts[{number}]", problems)
        if fact is None:
            continue
        if fact.id in facts:
            problems.append(f"{path.name}: fact id {fact.id!r} repeats")
        facts[fact.id] = fact
    return facts


def read_catalog(content_dir: Path) -> ContentCatalog:
    """Read everything, collecting problems instead of stopping at the first one."""
    problems: list[str] = []
    intents = load_intents(content_dir / "intents.yml")
    topics: dict[str, TopicEntry] = {}
    for path in sorted((content_dir / "topics").glob("*.yml")):
        where = f"topics/{path.name}"
        entry = _validate(TopicEntry, _read_yaml(path, problems), where, problems)
        if entry is None:
            continue
        # The file name is the intent a file answers; the id inside must agree with it.
        if entry.id != path.stem:
            problems.append(f"{where}: id {entry.id!r} does not match the file name")
            continue
        if entry.id not in intents:
            problems.append(f"{where}: unknown intent {entry.id!r} (not in intents.yml)")
        elif intents[entry.id].kind != "topic":
            problems.append(f"{where}: intent {entry.id!r} is a service intent, not a topic")
        topics[entry.id] = entry
    directory = _validate(Directory, _read_yaml(content_dir / "contacts.yml", problems), "contacts.yml", problems)
    menu = _validate(Menu, _read_yaml(content_dir / "menu.yml", problems), "menu.yml", problems)
    facts = _read_facts(content_dir / "facts.yml", problems)
    reviews: ReviewLog | None = ReviewLog()
    if (content_dir / REVIEWS_FILE).exists():
        data = _read_yaml(content_dir / REVIEWS_FILE, problems) or {}
        reviews = _validate(ReviewLog, data, REVIEWS_FILE, problems)
    return ContentCatalog(
        intents=intents,
        topics=topics,
        directory=directory or Directory(),
        menu=menu or Menu.model_construct(categories=(), titles={}),
        facts=facts,
        problems=tuple(problems),
        reviews=reviews.reviews if reviews else (),
    )


def load_catalog(content_dir: Path) -> ContentCatalog:
    """Load content for the running assistant: an error stops start-up; an overdue review is logged."""
    catalog = read_catalog(content_dir)
    problems = check_catalog(catalog)
    for overdue in (p for p in problems if p.overdue):
        log.warning("Content %s", overdue.message)
    errors = [p.message for p in problems if p.is_error and not p.overdue]
    if errors:
        raise ContentInvalid(errors)
    return catalog
