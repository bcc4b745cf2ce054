"""Lawyers' sign-offs: who checked which version of a topic, and when (content/reviews.yml, kept in git).

A version is a hash of what a person reads and what backs it (answer, follow-ups, sources, verify
flags, contacts), not of the review dates, so re-dating a topic after a sign-off does not void it.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.schema import Review, ReviewLog, TopicEntry

REVIEWS_FILE = "reviews.yml"
HEADER = (
    "# Lawyers' sign-offs, written by `pana content review TOPIC --by NAME [--note TEXT]`.\n"
    "# version = the hash of the topic's texts, sources and verify flags when it was checked.\n"
)
_REVIEWED_FIELDS = {"answer", "followups", "sources", "verify", "contacts"}


class SignOff(enum.Enum):
    CURRENT = "current"
    CHANGED = "changed since sign-off"
    NEVER = "never signed off"


def content_version(entry: TopicEntry) -> str:
    """A short, stable hash of the parts of a topic a lawyer vouches for."""
    reviewed = entry.model_dump(mode="json", include=_REVIEWED_FIELDS)
    encoded = json.dumps(reviewed, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:16]


def latest(reviews: tuple[Review, ...], topic: str) -> Review | None:
    """The most recent sign-off of a topic (the file is append-only, so the last one)."""
    return next((r for r in reversed(reviews) if r.topic == topic), None)


def sign_off_state(signed_version: str | None, version: str) -> SignOff:
    """Where a topic stands: never signed off, signed off as it is now, or changed since (wherever it was signed)."""
    if signed_version is None:
        return SignOff.NEVER
    return SignOff.CURRENT if signed_version == version else SignOff.CHANGED


@dataclass(frozen=True)
class LastSignOff:
    """A topic's latest sign-off in one place: content/reviews.yml (`pana content review`) or the web console."""

    by: str
    on: dt.date
    version: str
    on_web: bool

    @property
    def source(self) -> str:
        return "the web console" if self.on_web else f"content/{REVIEWS_FILE}"


def in_file(reviews: tuple[Review, ...], topic: str) -> LastSignOff | None:
    found = latest(reviews, topic)
    return LastSignOff(found.by, found.on, found.version, on_web=False) if found else None


def newer_sign_off(in_file: LastSignOff | None, on_web: LastSignOff | None) -> LastSignOff | None:
    """The newer of the file's and the web's sign-offs (the web's on the same day: it has a time)."""
    if in_file is None or (on_web is not None and on_web.on >= in_file.on):
        return on_web
    return in_file


def topic_sign_off(
    entry: TopicEntry, reviews: tuple[Review, ...], on_web: LastSignOff | None = None
) -> tuple[SignOff, LastSignOff | None]:
    """Where a topic stands and the sign-off that decides it, the newer of the file's and the web's."""
    mark = newer_sign_off(in_file(reviews, entry.id), on_web)
    return sign_off_state(mark.version if mark else None, content_version(entry)), mark


def sign_off(entry: TopicEntry, reviews: tuple[Review, ...]) -> SignOff:
    return topic_sign_off(entry, reviews)[0]


def record_review(
    content_dir: Path,
    entry: TopicEntry,
    existing: tuple[Review, ...],
    by: str,
    note: str | None = None,
    today: dt.date | None = None,
) -> Review:
    """Append a sign-off of the topic as it is now to the `existing` ones, which stay as history."""
    path = content_dir / REVIEWS_FILE
    review = Review(
        topic=entry.id, version=content_version(entry), by=by, on=today or dt.date.today(), note=note or None
    )
    log = ReviewLog(reviews=(*existing, review))
    text = HEADER + yaml.safe_dump(log.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False)
    # Written beside the file and renamed over it, so an interrupted run never leaves half a file.
    handle, temporary = tempfile.mkstemp(dir=content_dir, prefix=".reviews.", suffix=".yml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
    return review
