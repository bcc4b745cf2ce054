"""The content editor's view: each topic's review date, verify flags and sign-off; due ones first.

A supervisor or admin signs a topic off here: the version they read (content_version, the hash of what
the topic says and what backs it) is recorded with who and when in the database and the audit trail.
Sign-offs made with `pana content review` (content/reviews.yml) count too; the newer of the two decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiohttp import web

from bot.console.supervisor import overseer
from bot.content.reviews import (
    LastSignOff,
    SignOff,
    content_version,
    newer_sign_off,
    sign_off_state,
    topic_sign_off,
)
from bot.records.console import ContentSignOff

DUE_SOON = dt.timedelta(days=30)


@dataclass(frozen=True)
class TopicState:
    id: str
    version: str
    reviewed_on: dt.date
    review_by: dt.date
    verify: tuple[str, ...]
    sign_off: SignOff
    last_sign_off: LastSignOff | None
    overdue: bool
    due_soon: bool


def last_sign_off(in_file: LastSignOff | None, on_web: ContentSignOff | None) -> LastSignOff | None:
    """The newer of the file's and the web's sign-offs (one rule with `pana content check`)."""
    return newer_sign_off(in_file, web_mark(on_web) if on_web else None)


def web_mark(on_web: ContentSignOff) -> LastSignOff:
    return LastSignOff(on_web.by, on_web.at.date(), on_web.version, on_web=True)


def state_of(mark: LastSignOff | None, version: str) -> SignOff:
    return sign_off_state(mark.version if mark else None, version)


async def content(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    now = console.clock()
    await console.staff.audit(session.staff, "viewed_content", now)
    today = now.date()
    catalog = console.catalog
    web_sign_offs = await console.signoffs.latest()
    topics = []
    for entry in catalog.topics.values():
        on_web = web_sign_offs.get(entry.id)
        state, mark = topic_sign_off(entry, catalog.reviews, web_mark(on_web) if on_web else None)
        version = content_version(entry)
        topics.append(
            TopicState(
                id=entry.id,
                version=version,
                reviewed_on=entry.reviewed_on,
                review_by=entry.review_by,
                verify=entry.verify,
                sign_off=state,
                last_sign_off=mark,
                overdue=entry.review_by < today,
                due_soon=entry.review_by <= today + DUE_SOON,
            )
        )
    # Due in the next 30 days (or overdue) first, soonest first; then the rest by date.
    topics.sort(key=lambda t: (not t.due_soon, t.review_by, t.id))
    done = request.query.get("done", "")[:16]
    return console.render(request, "content.html", topics=topics, SignOff=SignOff, done=done)


async def sign_off_topic(request: web.Request) -> web.StreamResponse:
    """Sign off the version the reviewer saw: if the topic changed since the page was drawn, nothing is recorded."""
    console, session = overseer(request)
    entry = console.catalog.topics.get(request.match_info["topic"])
    if entry is None:
        raise web.HTTPNotFound()
    form = await request.post()
    if str(form.get("version", "")) != content_version(entry):
        raise web.HTTPSeeOther("/console/content?done=changed")
    await console.signoffs.sign_off(entry.id, content_version(entry), session.staff, console.clock())
    raise web.HTTPSeeOther("/console/content?done=signed")
