"""Callback data Pana issued: each button's payload is signed for the chat Pana sent it to.

A client can put any bytes into a button (a modified app, a bot in a group), so a pressed button is
acted on only if its signature matches: an HMAC of the chat and the payload, keyed from the bot token
(a secret only this server holds; the key is a one-way hash of it). A button copied to another chat, or
made up, is refused like a stale one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery

SIGNATURE_BYTES = 6  # 8 base64 characters: the longest payload (53) still fits Telegram's 64 bytes
PREFIX = "o"
SEPARATOR = "|"
MAX_CALLBACK_BYTES = 64  # Telegram's limit on a button's callback data


class OptionCallback(CallbackData, prefix=PREFIX, sep=SEPARATOR):
    """A pressed option: the core payload (ASCII, never "|") and its signature.

    The wire format, `o|<payload>|<sig>`, is aiogram's `CallbackData.pack()` of this class: `pack` and
    `verified_payload` write and read the same text without building the model on every button.
    """

    payload: str
    sig: str


@functools.lru_cache(maxsize=4)
def _keyed_mac(token: str) -> hmac.HMAC:
    """An HMAC keyed for this token and fed nothing yet: each signature copies it instead of keying its own."""
    key = hashlib.sha256(b"pana callback data\0" + token.encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def signature(token: str, chat_id: int | str, payload: str) -> str:
    mac = _keyed_mac(token).copy()
    mac.update(f"{chat_id}|{payload}".encode())
    return base64.urlsafe_b64encode(mac.digest()[:SIGNATURE_BYTES]).decode()


def pack(token: str, chat_id: int | str, payload: str) -> str:
    """`OptionCallback(payload=..., sig=...).pack()`, with the same checks: no separator, at most 64 bytes."""
    if SEPARATOR in payload:
        raise ValueError(f"Separator symbol {SEPARATOR!r} can not be used in a payload")
    data = f"{PREFIX}{SEPARATOR}{payload}{SEPARATOR}{signature(token, chat_id, payload)}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"Callback data is longer than {MAX_CALLBACK_BYTES} bytes")
    return data


def verified_payload(token: str, query: CallbackQuery) -> str | None:
    """The payload of a button Pana put into this very chat; None for anything else."""
    if query.message is None or not query.data:
        return None  # Pana sends no inline-mode buttons: a query without its message is not one of ours
    parts = query.data.split(SEPARATOR)
    if len(parts) != 3 or parts[0] != PREFIX:  # what `OptionCallback.unpack` refuses
        return None
    payload, sig = parts[1], parts[2]
    try:
        expected = signature(token, query.message.chat.id, payload).encode()
        given = sig.encode()
    except ValueError:  # text that is not encodable (a lone surrogate)
        return None
    return payload if hmac.compare_digest(given, expected) else None


async def issued_option(query: CallbackQuery, bot: Bot) -> dict[str, str] | bool:
    """Filter: a button Pana put into this chat; the handler gets its `payload`."""
    payload = verified_payload(bot.token, query)
    return {"payload": payload} if payload is not None else False


def own_private_chat(query: CallbackQuery) -> bool:
    """Filter: pressed in the person's own private chat (a group's buttons never speak for a person)."""
    message = query.message
    return message is not None and message.chat.type == ChatType.PRIVATE and message.chat.id == query.from_user.id
