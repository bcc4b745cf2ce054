"""Telegram updates as the core's channel-neutral messages."""

from __future__ import annotations

import re

from aiogram.types import CallbackQuery, Message

from bot.channels.commands import command_payload
from bot.core import payloads
from bot.core.messages import IncomingMessage
from bot.languages import LANGUAGES

CHANNEL = "telegram"
DEEP_LINK = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9_-]{1,64})$")


def attachment_kind(message: Message) -> str | None:
    """What a message carries besides text, named the way the core answers it."""
    if message.voice or message.video_note or message.audio:
        return "voice"
    for kind in ("photo", "document", "sticker", "location", "video", "contact", "animation", "venue", "poll"):
        if getattr(message, kind, None):
            return kind
    return None


def start_payload(text: str, topics: frozenset[str]) -> str | None:
    """A /start deep link may preselect a language (`?start=kk`) or a topic (`?start=asylum_apply`)."""
    match = DEEP_LINK.match(text.strip())
    if not match:
        return None
    value = match.group(1)
    if value in LANGUAGES:
        return payloads.language(value)
    if value in topics:
        return payloads.topic(value)
    return None


def from_message(message: Message, topics: frozenset[str], *, edited: bool = False) -> IncomingMessage:
    text = message.text or message.caption or ""
    payload = start_payload(text, topics) or command_payload(text) if message.text else None
    message_id = str(message.message_id)
    if edited:  # an edited question is a new question; its id must differ from the original's
        message_id = f"{message_id}:edited:{message.edit_date or 0}"
    user = message.from_user
    return IncomingMessage(
        channel=CHANNEL,
        user_id=str(message.chat.id),
        text="" if payload else text,
        payload=payload,
        language_hint=user.language_code if user else None,
        attachment=attachment_kind(message),
        channel_message_id=message_id,
    )


def from_callback(query: CallbackQuery, payload: str) -> IncomingMessage:
    chat_id = query.message.chat.id if query.message else query.from_user.id
    return IncomingMessage(
        channel=CHANNEL,
        user_id=str(chat_id),
        payload=payload,
        language_hint=query.from_user.language_code,
        channel_message_id=f"callback:{query.id}",
    )
