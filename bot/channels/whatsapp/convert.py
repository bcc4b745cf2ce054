"""Twilio's webhook forms as values: an inbound message, a status report; and the core's IncomingMessage.

Twilio may add parameters at any time; only the ones read here matter, and a missing or garbled one is a
malformed request (ValueError), answered with 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels.commands import command_payload
from bot.channels.numbered import resolve_choice
from bot.core.messages import IncomingMessage, Option
from bot.core.numbers import parse_number

CHANNEL = "whatsapp"
ADDRESS_PREFIX = "whatsapp:"
TWILIO_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
WHATSAPP_ADDRESS = re.compile(r"^whatsapp:(\+?[0-9]{4,20})$")


@dataclass(frozen=True, slots=True)
class InboundMessage:
    message_sid: str
    platform_id: str  # the sender's number, "+7701…"
    text: str
    attachment: str | None  # voice, photo, video, document, location: answered politely, never downloaded


@dataclass(frozen=True, slots=True)
class StatusReport:
    message_sid: str
    status: str
    error_code: int | None
    delivery_id: int | None  # ours, from the status callback URL


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a form field")
    return value


def _sid(form: Mapping[str, object]) -> str:
    sid = _text(form, "MessageSid")
    if not TWILIO_SID.match(sid):
        raise ValueError("MessageSid is missing or malformed")
    return sid


def attachment_kind(form: Mapping[str, object]) -> str | None:
    """What a message carries besides text, named the way the core answers it."""
    if _text(form, "Latitude") and _text(form, "Longitude"):
        return "location"
    count = parse_number(_text(form, "NumMedia").strip() or "0")
    if count is None:
        raise ValueError("NumMedia is not a number")
    if count == 0:
        return None
    content_type = _text(form, "MediaContentType0").lower()
    for prefix, kind in (("audio/", "voice"), ("image/", "photo"), ("video/", "video")):
        if content_type.startswith(prefix):
            return kind
    return "document"


def parse_inbound(form: Mapping[str, object]) -> InboundMessage:
    sender = WHATSAPP_ADDRESS.match(_text(form, "From"))
    if sender is None:
        raise ValueError("From is not a WhatsApp address")
    return InboundMessage(
        message_sid=_sid(form),
        platform_id=sender.group(1),
        text=_text(form, "Body"),
        attachment=attachment_kind(form),
    )


def parse_status(form: Mapping[str, object], query: Mapping[str, str]) -> StatusReport:
    status = _text(form, "MessageStatus").strip().lower()
    if not status:
        raise ValueError("MessageStatus is missing")
    error = _text(form, "ErrorCode").strip()
    delivery = query.get("delivery", "")
    return StatusReport(
        message_sid=_sid(form),
        status=status,
        error_code=parse_number(error),
        delivery_id=parse_number(delivery),
    )


def to_incoming(inbound: InboundMessage, options: tuple[Option, ...]) -> IncomingMessage:
    """A number (or an option's words) picks from the options the user last saw; `/menu` works as on Telegram."""
    text = inbound.text.strip()
    payload = (command_payload(text) or resolve_choice(text, options)) if text else None
    return IncomingMessage(
        channel=CHANNEL,
        user_id=inbound.platform_id,
        text=inbound.text,
        payload=payload,
        attachment=inbound.attachment,
        channel_message_id=inbound.message_sid,
    )


def address(platform_id: str) -> str:
    return f"{ADDRESS_PREFIX}{platform_id}"
