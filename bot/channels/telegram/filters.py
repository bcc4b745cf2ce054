"""The routers' filters, each a coroutine function: aiogram runs any other filter in a worker thread.

aiogram awaits a filter that is a coroutine function; a plain function, and a magic filter (`F.chat.type == ...`,
whose `resolve` is a plain method), it hands to `asyncio.to_thread`: a thread pool hop, with its wake-ups and
the loop's turns, for a comparison of two strings. A private message met four of them on its way through the
routers (docs/performance.md, stop 23). These say the same as the magic filters they replace, a missing part
included (a button's message Telegram no longer gives is no chat at all, as `F.message.chat.type` resolved it).
"""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.channels.commands import is_user_command
from bot.channels.telegram.callbacks import own_private_chat

GROUPS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


async def in_private_chat(message: Message) -> bool:
    """`F.chat.type == ChatType.PRIVATE`."""
    return message.chat.type == ChatType.PRIVATE


async def in_group(message: Message) -> bool:
    """`F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP})`."""
    return message.chat.type in GROUPS


async def pressed_outside_private_chat(query: CallbackQuery) -> bool:
    """`F.message.chat.type != ChatType.PRIVATE`: False when the query carries no message."""
    return query.message is not None and query.message.chat.type != ChatType.PRIVATE


async def pressed_in_own_private_chat(query: CallbackQuery) -> bool:
    """`own_private_chat`: pressed in the person's own private chat."""
    return own_private_chat(query)


async def not_user_command(message: Message) -> bool:
    """Not one of the commands every user has (/start, /menu, /lawyer, ...): a lawyer's own text."""
    return not is_user_command(message.text)
