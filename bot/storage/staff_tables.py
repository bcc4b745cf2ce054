"""Tables of the web console: staff accounts, their server-side sessions, content sign-offs (0009, 0011-0013)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utc_now
from bot.languages import CODE_LENGTH
from bot.storage.sealing import Sealed
from bot.storage.tables import Base


class StaffRow(Base):
    """A person who signs in to the console; disabled, never deleted (the audit trail names them)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id, with its own salt and parameters
    lawyer_id: Mapped[int | None] = mapped_column(ForeignKey("lawyers.id"), unique=True)
    ui_language: Mapped[str] = mapped_column(String(CODE_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # The one-time code's secret (base32), sealed: whoever reads the database must not be able to make codes.
    totp_secret: Mapped[str | None] = mapped_column(Sealed)
    # The last step whose code was accepted: a code (or an earlier one) is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Raised by "sign out everywhere", a new password or TOTP secret, disabling: sessions begun under an
    # earlier value stop opening, wherever they are kept (database or Redis).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # Set by an admin (new account, reset on the web): it must be replaced at the next sign-in (migration 0013).
    password_temporary: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffSessionRow(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # The password was right but the one-time code is still to come: such a session opens nothing else.
    awaiting_code: Mapped[bool] = mapped_column(Boolean, default=False)
    epoch: Mapped[int] = mapped_column(Integer, default=0)  # the account's session_epoch at sign-in


class ContentSignOffRow(Base):
    """A reviewer checked a topic as it reads in this version (bot/content/reviews.py: content_version)."""

    __tablename__ = "content_signoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
