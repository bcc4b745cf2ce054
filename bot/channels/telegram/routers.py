"""aiogram routers: private chats are conversations; groups and channels are handled deliberately."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message

from bot.channels.telegram.callbacks import issued_option
from bot.channels.telegram.convert import from_callback, from_message
from bot.channels.telegram.filters import in_group, in_private_chat, pressed_in_own_private_chat
from bot.channels.telegram.outgoing import acknowledge, send_turn
from bot.channels.telegram.render import as_html
from bot.core.messages import IncomingMessage
from bot.core.ports import Dialogue
from bot.i18n import Translator
from bot.languages import FALLBACK_LANGUAGE, normalise_language_code


async def handle(bot: Bot, conversation: Dialogue, chat_id: int | str, message: IncomingMessage) -> None:
    """Stored and decided (committed), then sent from that record part by part, then confirmed.

    If a send fails, the webhook's redelivery or, in long polling, the recovery sweep sends what is left.
    """
    turn = await conversation.handle(message)
    await send_turn(bot, conversation, chat_id, turn)


def create_router(topics: frozenset[str]) -> Router:
    """One router per feature: the conversation in private chats."""
    router = Router(name="conversation")

    @router.message(in_private_chat)
    async def on_message(message: Message, bot: Bot, conversation: Dialogue) -> None:
        await handle(bot, conversation, message.chat.id, from_message(message, topics))

    @router.edited_message(in_private_chat)
    async def on_edit(message: Message, bot: Bot, conversation: Dialogue) -> None:
        await handle(bot, conversation, message.chat.id, from_message(message, topics, edited=True))

    @router.callback_query(pressed_in_own_private_chat, issued_option)
    async def on_option(query: CallbackQuery, payload: str, bot: Bot, conversation: Dialogue) -> None:
        await acknowledge(query)
        await handle(bot, conversation, query.from_user.id, from_callback(query, payload))

    @router.callback_query()
    async def on_stale_button(query: CallbackQuery) -> None:
        # An older version's button, one pressed outside the person's private chat, or one Pana never
        # issued: stop the spinner, nothing else.
        await acknowledge(query)

    return router


def create_group_router() -> Router:
    """Groups: Pana answers only when addressed, and only to move the talk to a private chat."""
    router = Router(name="groups")

    @router.message(in_group)
    async def on_group_message(message: Message, bot: Bot, translator: Translator) -> None:
        me = await bot.me()
        addressed = bool(message.text and me.username and f"@{me.username}".lower() in message.text.lower())
        replied_to_bot = bool(
            message.reply_to_message
            and message.reply_to_message.from_user
            and message.reply_to_message.from_user.id == me.id
        )
        if not (addressed or replied_to_bot):
            return
        language = (
            normalise_language_code(message.from_user.language_code if message.from_user else None) or FALLBACK_LANGUAGE
        )
        text = translator.gettext("To keep your questions private, please write to me in a private chat.", language)
        await message.reply(as_html(text))

    return router
