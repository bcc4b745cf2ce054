"""Replies as Telegram messages: HTML-escaped text split under the size limit, options as buttons."""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.split import split_text as split_paragraphs
from bot.channels.telegram.callbacks import pack
from bot.core.messages import Option

SAFE_LIMIT = 4000  # escaping adds characters: split below the limit with room to spare


def split_text(text: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Split at paragraph, then line, then word boundaries so each part fits one message."""
    return split_paragraphs(text, limit)


def as_html(text: str) -> str:
    """Everything user- or content-derived is escaped before Telegram parses HTML."""
    return html.escape(text, quote=False)


def keyboard(options: tuple[Option, ...], *, token: str, chat_id: int | str) -> InlineKeyboardMarkup | None:
    """The options as buttons, each signed for this chat (bot/channels/telegram/callbacks.py)."""
    if not options:
        return None
    rows = [[InlineKeyboardButton(text=o.label[:64], callback_data=pack(token, chat_id, o.payload))] for o in options]
    return InlineKeyboardMarkup(inline_keyboard=rows)
