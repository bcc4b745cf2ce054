"""The WhatsApp delivery ledger's values: statuses, deliveries, the 24-hour window (stored by bot/storage/whatsapp.py).


Every outgoing message is a *delivery*: written before Twilio is called, then moved along its statuses.
Our own statuses come first (`held` waits for the window, `ready` waits for a sender, `submitting` is
being sent); after that the delivery carries Twilio's status, which only ever moves forward.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = [
    "FAILED_STATUSES",
    "FINAL_STATUSES",
    "HELD",
    "READY",
    "SUBMITTING",
    "TWILIO_STATUS_RANK",
    "Delivery",
    "Outgoing",
    "StatusChange",
    "Window",
    "ranks_below",
]

HELD = "held"
READY = "ready"
SUBMITTING = "submitting"

# Twilio's outbound statuses by how far a message got; callbacks arrive out of order and more than once,
# so a status is recorded only when it ranks above the one stored.
TWILIO_STATUS_RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
FAILED_STATUSES = frozenset({"undelivered", "failed", "canceled"})


def ranks_below(status: str) -> tuple[str, ...]:
    """Every stored status a new `status` may replace."""
    rank = TWILIO_STATUS_RANK[status]
    return (READY, SUBMITTING, *(s for s, r in TWILIO_STATUS_RANK.items() if r < rank))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One WhatsApp message to send: free-form `body`, or an approved template (`content_sid`)."""

    language: str
    body: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None  # JSON object, as Twilio wants it


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    recipient: str | None  # the contact's platform id; cleared once the delivery is final
    language: str
    body: str | None  # cleared once the delivery is final (the text stays in the conversation record)
    content_sid: str | None
    content_variables: str | None
    status: str
    message_sid: str | None
    error_code: int | None
    relay_id: int | None = None  # the lawyer's answer (or case notice) it carries
    attempts: int = 0  # the claims it had: this one, and any cut off by a crash before Twilio's answer was stored


@dataclass(frozen=True, slots=True)
class StatusChange:
    delivery: Delivery  # as it was before its text was cleared
    changed: bool  # False for a repeated or out-of-date callback


@dataclass(frozen=True, slots=True)
class Window:
    """When the contact last wrote (opens 24 hours of free-form messages) and when we last invited them."""

    last_inbound_at: dt.datetime | None = None
    invited_at: dt.datetime | None = None
