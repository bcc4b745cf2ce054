"""Tables of the lawyer handoff: lawyers, cases, relayed messages, notes and the audit trail.

ORM rows never leave bot/storage/. The schema is created by migration 0003.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utc_now
from bot.languages import CODE_LENGTH, CODES_LENGTH
from bot.storage.sealing import Sealed
from bot.storage.tables import Base

OPEN_CASE = text("status <> 'closed'")


class LawyerRow(Base):
    """A lawyer an administrator registered; deactivated, never deleted (the audit trail names them)."""

    __tablename__ = "lawyers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # None: works only on the web console
    name: Mapped[str] = mapped_column(String(128))
    languages: Mapped[str] = mapped_column(String(CODES_LENGTH))  # "kk,ru": the first is the one Pana writes to them in
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_case_id: Mapped[int | None] = mapped_column(Integer)  # where their plain messages go
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class CaseRow(Base):
    """A person's request for a lawyer, from consent to closing."""

    __tablename__ = "cases"
    __table_args__ = (
        # One open case per person, enforced by the database so concurrent requests cannot open two.
        Index(
            "uq_cases_open_contact",
            "contact_id",
            unique=True,
            sqlite_where=OPEN_CASE,
            postgresql_where=OPEN_CASE,
        ),
        Index("ix_cases_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))  # None: detached
    language: Mapped[str] = mapped_column(String(CODE_LENGTH))
    topic: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(1))
    summary: Mapped[str] = mapped_column(Sealed)
    status: Mapped[str] = mapped_column(String(16))
    lawyer_id: Mapped[int | None] = mapped_column(ForeignKey("lawyers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lawyer_active_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    announced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    announcing_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # a sender's lease
    # Announcement attempts begun (with the lease) and ended (announced, or no lawyer reached): fewer ended once
    # a sender died mid-attempt, whose announcement may have reached lawyers before the case was announced again.
    announce_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    announce_attempts_ended: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Sealed)
    rating: Mapped[int | None] = mapped_column(Integer)
    city: Mapped[str | None] = mapped_column(Sealed)  # the person's optional answer, a code from CITIES


class RelayRow(Base):
    """One message between a user and a lawyer (or a notice to the user), until it is delivered."""

    __tablename__ = "relays"
    __table_args__ = (
        Index("ix_relays_status_next_attempt_at", "status", "next_attempt_at"),
        UniqueConstraint("source_message_id", name="uq_relays_source_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Sealed)
    lawyer_id: Mapped[int | None] = mapped_column(ForeignKey("lawyers.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts whose outcome was written (sent, retry scheduled, given up): fewer than `attempts` once a sender
    # died mid-attempt, which may have reached its recipient before the relay was sent again (Telegram has no
    # idempotency key).
    attempts_ended: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The person's message this relay carries: a message decided again after a crash relays once.
    source_message_id: Mapped[int | None] = mapped_column(Integer)
    # How far it got, as the console shows it (bot/records/cases.py: DeliveryState); None while pending.
    delivery: Mapped[str | None] = mapped_column(String(16))
    # WhatsApp: the Twilio message carrying it (of an answer split in parts, the first; its state is the worst part's)
    message_sid: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[int | None] = mapped_column(Integer)  # WhatsApp: Twilio's code when it failed


class LawyerMessageRow(Base):
    """Which case a message in a lawyer's chat belongs to, so their reply to it reaches the right person."""

    __tablename__ = "lawyer_messages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_lawyer_messages_chat_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class CaseNoteRow(Base):
    """An internal note of a lawyer on a case; never shown to the user."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    lawyer_id: Mapped[int] = mapped_column(ForeignKey("lawyers.id"))
    text: Mapped[str] = mapped_column(Sealed)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class AuditRow(Base):
    """Who did what to which case, when; never any message text.

    `case_id` has no foreign key on purpose: the trail outlives a case deleted at the person's request.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(16))  # lawyer, user, system, admin
    lawyer_id: Mapped[int | None] = mapped_column(ForeignKey("lawyers.id"))
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    staff_id: Mapped[int | None] = mapped_column(Integer)  # the web console account behind it, if any
    subject_staff_id: Mapped[int | None] = mapped_column(Integer)  # the account an admin's act was about
