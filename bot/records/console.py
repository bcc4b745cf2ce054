"""What the web console reads from the record (storage hands these out, never ORM rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.records.cases import CaseRecord

__all__ = ["AuditEntry", "CaseOverview", "ContentSignOff", "LawyerLoad", "ThreadEntry"]


@dataclass(frozen=True, slots=True)
class ThreadEntry:
    """One line of a case as its lawyer reads it: the person, a lawyer, Pana's notice, or an internal note."""

    at: dt.datetime
    author: str  # "person", "lawyer", "pana", "note"
    text: str
    lawyer_name: str | None = None
    delivery: str | None = None  # to the person: a DeliveryState value
    error_code: int | None = None  # WhatsApp: Twilio's code when it failed


@dataclass(frozen=True, slots=True)
class CaseOverview:
    """A case for the supervisor's list: its state and timing, never the person's words."""

    case: CaseRecord
    lawyer_name: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    case_id: int | None
    lawyer_name: str | None
    username: str | None
    subject: str | None = None  # the account an admin's act was about


@dataclass(frozen=True, slots=True)
class LawyerLoad:
    lawyer_id: int
    name: str
    active: bool
    held: int
    oldest_assigned_at: dt.datetime | None
    closed_last_30_days: int


@dataclass(frozen=True, slots=True)
class ContentSignOff:
    """A reviewer marked this version of a topic as checked, on the web console."""

    topic: str
    version: str  # bot/content/reviews.py: content_version
    by: str  # the reviewer's name as colleagues see it
    at: dt.datetime
