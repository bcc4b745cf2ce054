"""Tables of the record. ORM rows never leave bot/storage/."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.clock import utc_now
from bot.languages import CODE_LENGTH
from bot.storage.sealing import HASH_LENGTH, Sealed


class Base(DeclarativeBase):
    pass


class ContactRow(Base):
    """A person on one channel: the channel's id for them and their language; nothing else.

    The id is stored encrypted; the person is found by its keyed hash (`Keyring.blind`), never the clear id.
    """

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "platform_hash", name="uq_contacts_channel_platform_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str] = mapped_column(Sealed)
    platform_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    language: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)


class ConversationRow(Base):
    """A run of messages with one contact, closed by a long silence."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    last_message_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class MessageRow(Base):
    """One message in or out, with what the NLU made of it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("contact_id", "channel_message_id", name="uq_messages_contact_channel_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Sealed)
    language: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
    # On inbound messages: the replies decided (JSON) until a channel confirms it sent them.
    turn: Mapped[str | None] = mapped_column(Sealed)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # On inbound messages: what a re-decision needs (the option picked, the kind of attachment, the platform's
    # language hint), how many reply parts went out, and until when one process holds the message.
    payload: Mapped[str | None] = mapped_column(Sealed)  # an option picked can name a topic
    attachment: Mapped[str | None] = mapped_column(String(16))
    language_hint: Mapped[str | None] = mapped_column(String(16))
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WhatsAppWindowRow(Base):
    """When a WhatsApp contact last wrote (free-form replies are allowed for 24 hours) and was last invited."""

    __tablename__ = "whatsapp_windows"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    last_inbound_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    invited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WhatsAppDeliveryRow(Base):
    """One outgoing WhatsApp message: the outbox entry first, then Twilio's delivery status."""

    __tablename__ = "whatsapp_deliveries"
    __table_args__ = (
        UniqueConstraint("message_sid", name="uq_whatsapp_deliveries_message_sid"),
        UniqueConstraint("reply_key", name="uq_whatsapp_deliveries_reply_key"),
        Index("ix_whatsapp_deliveries_recipient_hash_status", "recipient_hash", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str | None] = mapped_column(Sealed)
    recipient_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    language: Mapped[str] = mapped_column(String(CODE_LENGTH))
    body: Mapped[str | None] = mapped_column(Sealed)
    content_sid: Mapped[str | None] = mapped_column(String(64))
    content_variables: Mapped[str | None] = mapped_column(Sealed)
    status: Mapped[str] = mapped_column(String(16))
    message_sid: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reply_key: Mapped[str | None] = mapped_column(String(32))  # "<inbound message id>:<part>": queued once
    # The lawyer's answer (or case notice) this message carries; its statuses become the relay's state.
    relay_id: Mapped[int | None] = mapped_column(ForeignKey("relays.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class TombstoneRow(Base):
    """A deleted person's platform message, as a keyed hash, until platforms stop redelivering it.

    A redelivered or replayed webhook of it is answered "your data was deleted" instead of re-creating the
    person. `language` is the only other thing kept: the language to say that in.
    """

    __tablename__ = "tombstones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    language: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class RemoteErasureRow(Base):
    """A copy at the platform of a deleted person's message (a Twilio message SID), until it is deleted there."""

    __tablename__ = "remote_erasures"
    __table_args__ = (UniqueConstraint("channel", "remote_id", name="uq_remote_erasures_channel_remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    remote_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
