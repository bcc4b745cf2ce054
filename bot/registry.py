"""The channel registry: which channels exist, when each is enabled, and how each is wired to the app.

Adding a channel: write its package under bot/channels/ (a `Channel`, bot/channels/base.py), add its
settings section, then one `create_*` function and one `ChannelEntry` here. See CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from bot.app import App
from bot.channels.base import Channel
from bot.private_files import stored_secret
from bot.settings import Settings
from bot.storage.database import is_database_outage, session_factory
from bot.storage.state import REDIS_DOWN, FallbackStateStore

__all__ = [
    "CHANNELS",
    "C",
    "ChannelEntry",
    "create_channels",
    "create_console",
    "create_telegram",
    "create_whatsapp",
    "telegram_webhook_secret",
]

if TYPE_CHECKING:
    from aiogram.fsm.storage.base import BaseEventIsolation

    from bot.channels.telegram.runtime import TelegramRuntime
    from bot.channels.whatsapp.factory import WhatsAppRuntime
    from bot.console.routes import ConsoleRoutes

C = TypeVar("C", bound=Channel)


@dataclass(frozen=True)
class ChannelEntry:
    name: str
    enabled: Callable[[Settings], bool]
    create: Callable[[Settings, App], Channel]


def _installed(app: App, channel: C) -> C:
    """Let the lawyer handoff reach the channel's users through it, and the recovery sweep answer them."""
    if channel.sender is not None:
        app.handoff.outbox.register_sender(channel.name, channel.sender)
    if channel.replay is not None:
        app.recovery.register(channel.name, channel.replay)
    return channel


def create_telegram(settings: Settings, app: App) -> TelegramRuntime:
    """The Telegram bot and dispatcher wired to the core (aiogram loads only when Telegram is used)."""
    from bot.channels.telegram.factory import HashedKeyBuilder, create_bot, create_dispatcher
    from bot.channels.telegram.failures import RepeatedFailures
    from bot.channels.telegram.gate import SharedUpdates
    from bot.channels.telegram.isolation import local_isolation
    from bot.channels.telegram.outgoing import TelegramLawyerNotifier
    from bot.channels.telegram.runtime import TelegramRuntime

    bot = create_bot(settings.telegram)
    isolation: BaseEventIsolation = local_isolation(settings.pana.person_wait_seconds)
    shared: SharedUpdates | None = None
    if app.redis is not None and isinstance(app.claims, FallbackStateStore):  # one chat at a time across processes
        # The claim's key and the chat lock's key are keyed hashes: no update or chat id in Redis.
        shared = SharedUpdates(
            app.redis,
            claims=app.claims,
            claim_key=app.claims.shared_claim_key,
            lock_key=HashedKeyBuilder(app.keyring),
            availability=app.claims.health,
            down=REDIS_DOWN,
            state=app.claims,  # the dialogue's state store: the take script reads the chat's state ahead
            busy_seconds=settings.pana.claim_seconds,
            wait_seconds=settings.pana.person_wait_seconds,
        )
    app.resources.push_async_callback(bot.session.close)
    dispatcher = create_dispatcher(
        conversation=app.dialogue,
        translator=app.translations,
        claims=app.claims,
        isolation=isolation,
        bot=bot,
        topics=frozenset(app.catalog.topics),
        desk=app.handoff.desk,
        claim_seconds=settings.pana.claim_seconds,
        is_outage=is_database_outage,
        shared=shared,
    )
    app.handoff.outbox.attach_lawyers(TelegramLawyerNotifier(bot))  # lawyers work in Telegram
    runtime = TelegramRuntime(
        bot=bot,
        dispatcher=dispatcher,
        conversation=app.dialogue,  # replays too: outage answer, metrics, the same wrappers as live turns
        secret=telegram_webhook_secret(settings),
        translator=app.translations,
        webhook_url=settings.telegram.webhook_url,
        failures=RepeatedFailures(app.claims, bot.id, settings.telegram.max_update_attempts, app.translations),
    )
    return _installed(app, runtime)


def telegram_webhook_secret(settings: Settings) -> str | None:
    """None in long polling (no webhook route at all); else the configured secret or a random one kept in var/.

    Never derived from the bot token: a leaked secret must not say anything about the token, nor the reverse.
    """
    if not settings.telegram.webhook_url:
        return None
    if settings.telegram.webhook_secret:
        return settings.telegram.webhook_secret.get_secret_value()
    return stored_secret(settings.pana.var_dir / "telegram-webhook.secret")


def create_whatsapp(settings: Settings, app: App) -> WhatsAppRuntime:
    """The WhatsApp channel through Twilio wired to the core (twilio loads only when WhatsApp is used)."""
    from bot.channels.whatsapp.factory import create_runtime
    from bot.storage.whatsapp import SqlWhatsAppLedger

    runtime = create_runtime(
        settings.twilio,
        public_url=settings.pana.public_url,
        conversation=app.dialogue,
        ledger=SqlWhatsAppLedger(app.commits),
        state=app.claims,
        options_ttl_seconds=settings.pana.state_ttl_seconds,
        resume_interval_seconds=settings.pana.recovery_interval_seconds,  # with the sweep for unanswered messages
        locks=app.person_locks,  # held as "whatsapp:<id>": one message per person across workers
    )
    app.retention.register("WhatsApp delivery records deleted", runtime.ledger.purge_older_than)
    app.resources.push_async_callback(runtime.close)
    return _installed(app, runtime)  # lawyers' answers reach WhatsApp users within or after 24 h


CHANNELS: tuple[ChannelEntry, ...] = (
    ChannelEntry("telegram", lambda settings: bool(settings.telegram.bot_token), create_telegram),
    ChannelEntry("whatsapp", lambda settings: settings.twilio.configured, create_whatsapp),
)


def create_channels(settings: Settings, app: App) -> list[Channel]:
    """Every channel the settings enable, wired to the app (SDKs load only for those)."""
    return [entry.create(settings, app) for entry in CHANNELS if entry.enabled(settings)]


def create_console(settings: Settings, app: App) -> ConsoleRoutes:
    """The staff web console (PANA_CONSOLE=1), on the app's record and its lawyers' desk."""
    import datetime as dt

    from bot.console.context import Console
    from bot.console.routes import ConsoleRoutes
    from bot.console.security import AddressLimiter
    from bot.console.sessions import ConsoleSessions, SessionStore
    from bot.storage.console import SqlConsoleQueries
    from bot.storage.reports import SqlReportSource
    from bot.storage.signoffs import SqlSignOffStore
    from bot.storage.staff import SqlStaffStore
    from bot.storage.staff_sessions import RedisSessionStore, SqlSessionStore

    sessions = session_factory(app.engine)
    config = settings.console
    staff = SqlStaffStore(sessions)
    # Redis when configured (every process sees the same sessions; entries expire by themselves)
    store: SessionStore = RedisSessionStore(app.redis, app.keyring) if app.redis else SqlSessionStore(sessions)
    idle, lifetime = dt.timedelta(minutes=config.idle_minutes), dt.timedelta(hours=config.session_hours)
    console = Console(
        settings=config,
        secure_cookies=(settings.pana.public_url or "").startswith("https://"),
        staff=staff,
        queries=SqlConsoleQueries(sessions),
        reports=SqlReportSource(sessions),
        cases=app.handoff.cases,
        lawyers=app.handoff.lawyers,
        desk=app.handoff.desk,
        catalog=app.catalog,
        translations=app.translations,
        answer_threshold=settings.policy.answer_threshold,
        clock=app.clock,
        limiter=AddressLimiter(config.address_attempts, dt.timedelta(minutes=config.lockout_minutes)),
        sessions=ConsoleSessions(store, staff, idle=idle, lifetime=lifetime),
        signoffs=SqlSignOffStore(sessions),
        outbox=app.handoff.outbox,
        timezone=settings.lawyers.timezone,
    )
    return ConsoleRoutes(console)
