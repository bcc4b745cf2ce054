"""Option payloads: what comes back when a user picks a quick reply (ASCII, under 64 bytes)."""

from __future__ import annotations

from dataclasses import dataclass

START = "start"
HELP = "help"
MENU = "menu"
LAWYER = "lawyer"
FORGET = "forget"
PRIVACY = "privacy"
LANGUAGE = "language"
DELETE_YES = "delete:yes"
DELETE_NO = "delete:no"
CASE = "case"  # the lawyer handoff's options (consent, ratings): the core hands them to the Handoff port


def topic(topic_id: str) -> str:
    return f"topic:{topic_id}"


def more(topic_id: str, followup_id: str) -> str:
    return f"more:{topic_id}:{followup_id}"


def category(category_id: str) -> str:
    return f"menu:{category_id}"


def language(code: str) -> str:
    return f"lang:{code}"


def case(*parts: str) -> str:
    return ":".join((CASE, *parts))


@dataclass(frozen=True, slots=True)
class Parsed:
    kind: str
    args: tuple[str, ...] = ()


def parse(payload: str) -> Parsed:
    kind, *args = payload.strip().split(":")
    return Parsed(kind, tuple(args))
