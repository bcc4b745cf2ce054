"""Build the aiogram Bot and Dispatcher from settings and the core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StorageKey
from aiogram.types import BotCommand, BotCommandScopeDefault

from bot.channels.claims import BUSY_SECONDS, Claims
from bot.channels.telegram.dedupe import UpdateDedupeMiddleware
from bot.channels.telegram.gate import SharedUpdates, UpdateGate
from bot.channels.telegram.lawyers import create_lawyer_router
from bot.channels.telegram.lazy_models import build_turn_models
from bot.channels.telegram.nostate import NoStateStorage
from bot.channels.telegram.retry import RetryMiddleware
from bot.channels.telegram.routers import create_group_router, create_router
from bot.channels.telegram.session import JsonSession
from bot.core.ports import Dialogue
from bot.errors import ConfigurationError
from bot.handoff.desk import LawyerDesk
from bot.i18n import N_, Translator
from bot.keys import Keyring
from bot.languages import FOREIGN_LANGUAGE, LANGUAGES
from bot.settings import TelegramSettings

COMMAND_DESCRIPTIONS = {
    "start": N_("Start and choose a topic"),
    "menu": N_("Topics"),
    "help": N_("What Pana can do"),
    "language": N_("Change the language"),
    "lawyer": N_("Talk to a lawyer"),
    "privacy": N_("What Pana stores about you"),
    "forget": N_("Delete my data"),
}


def create_bot(settings: TelegramSettings) -> Bot:
    if not settings.bot_token:
        raise ConfigurationError("TELEGRAM_BOT_TOKEN is not set")
    session = JsonSession(api=TelegramAPIServer.from_base(settings.api_base))
    session.middleware(RetryMiddleware())
    build_turn_models()  # aiogram's models are deferred (lazy_models.py): what a turn uses, now rather than then
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


class HashedKeyBuilder(KeyBuilder):
    """aiogram's Redis keys name the chat and the user (and its event lock is one): Redis gets their keyed hash."""

    def __init__(self, keyring: Keyring, prefix: str = "fsm") -> None:
        self._keyring = keyring
        self._prefix = prefix

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        who = f"{key.chat_id}:{key.thread_id}:{key.user_id}:{key.business_connection_id}"
        parts = [self._prefix, str(key.bot_id), self._keyring.blind(who), key.destiny]
        return ":".join([*parts, part] if part else parts)


def create_dispatcher(
    *,
    conversation: Dialogue,
    translator: Translator,
    claims: Claims,
    isolation: BaseEventIsolation,
    bot: Bot,
    topics: frozenset[str],
    desk: LawyerDesk,
    claim_seconds: int = BUSY_SECONDS,
    is_outage: Callable[[BaseException], bool] = lambda error: False,
    shared: SharedUpdates | None = None,
) -> Dispatcher:
    """The dispatcher with services injected into handlers, updates deduplicated, one chat at a time.

    aiogram's FSM is not used (the core keeps the dialogue state) and is switched off: its middleware asked the
    storage for a state on every update and held the chat through aiogram's isolation; the chat is held by
    Pana's own middleware instead (`isolation.chat_key` names it as aiogram did). The storage, which aiogram
    still creates, keeps nothing (nostate.py). With `shared` (Redis), the update's claim and the chat's lock are
    taken together by `UpdateGate` (falling back to an in-process lock while Redis is away); without it,
    `UpdateDedupeMiddleware` holds the chat with `isolation` and claims the update.
    """
    dispatcher = Dispatcher(
        storage=NoStateStorage(),
        disable_fsm=True,
        conversation=conversation,
        translator=translator,
        desk=desk,
        is_outage=is_outage,  # lets the lawyers' filter step aside while the record is down
    )
    if shared is None:
        dedupe = UpdateDedupeMiddleware(claims, bot.id, isolation, busy_seconds=claim_seconds)
        dispatcher.update.outer_middleware(dedupe)
    else:
        dispatcher.update.outer_middleware(UpdateGate(shared, claims, bot.id, busy_seconds=claim_seconds))
    dispatcher.include_router(create_lawyer_router())  # first: lawyers' updates never reach the conversation
    dispatcher.include_router(create_group_router())
    dispatcher.include_router(create_router(topics))
    return dispatcher


async def register_commands(bot: Bot, translator: Translator) -> None:
    """Command menus in each language (and English for every other client language)."""
    for language in (*LANGUAGES, None):
        commands = [
            BotCommand(command=name, description=translator.gettext(text, language or FOREIGN_LANGUAGE))
            for name, text in COMMAND_DESCRIPTIONS.items()
        ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
