"""The content editor's view: each topic's review date, verify flags and lawyers' sign-off; due ones first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiohttp import web

from bot.console.supervisor import overseer
from bot.content.reviews import SignOff, latest, sign_off
from bot.content.schema import Review

DUE_SOON = dt.timedelta(days=30)


@dataclass(frozen=True)
class TopicState:
    id: str
    reviewed_on: dt.date
    review_by: dt.date
    verify: tuple[str, ...]
    sign_off: SignOff
    last_sign_off: Review | None
    overdue: bool
    due_soon: bool


async def content(request: web.Request) -> web.StreamResponse:
    console, session = overseer(request)
    now = console.clock()
    await console.staff.audit(session.staff, "viewed_content", now)
    today = now.date()
    catalog = console.catalog
    topics = [
        TopicState(
            id=entry.id,
            reviewed_on=entry.reviewed_on,
            review_by=entry.review_by,
            verify=entry.verify,
            sign_off=sign_off(entry, catalog.reviews),
            last_sign_off=latest(catalog.reviews, entry.id),
            overdue=entry.review_by < today,
            due_soon=entry.review_by <= today + DUE_SOON,
        )
        for entry in catalog.topics.values()
    ]
    # Due in the next 30 days (or overdue) first, soonest first; then the rest by date.
    topics.sort(key=lambda t: (not t.due_soon, t.review_by, t.id))
    return console.render(request, "content.html", topics=topics, SignOff=SignOff)
