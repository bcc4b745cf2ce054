"""The composition root: create_* factories wire settings into components. Nothing runs at import."""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utc_now
from bot.content.catalog import ContentCatalog
from bot.content.loader import load_catalog
from bot.core.conversation import Conversation, CoreConfig
from bot.core.language import LanguageDetector
from bot.core.policy import Thresholds
from bot.handoff.announce import Announcer
from bot.handoff.availability import LawyerAvailabilityNote
from bot.handoff.cards import CaseCards
from bot.handoff.desk import LawyerDesk
from bot.handoff.outbox import Outbox
from bot.handoff.queue import HandoffQueue
from bot.handoff.services import HandoffServices
from bot.handoff.worker import HandoffWorker
from bot.hours import WorkingHours
from bot.i18n import Translations
from bot.nlu.client import RasaClient
from bot.nlu.server import server_ready
from bot.settings import Settings
from bot.storage.cases import SqlCaseStore
from bot.storage.database import create_engine, migrate, session_factory
from bot.storage.expiry import SqlExpiry
from bot.storage.lawyers import SqlLawyerStore
from bot.storage.relays import SqlRelayStore
from bot.storage.repository import SqlConversationStore
from bot.storage.retention import Retention
from bot.storage.state import MemoryStateStore, RedisStateStore

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    conversation: Conversation
    store: SqlConversationStore
    catalog: ContentCatalog
    translations: Translations
    claims: MemoryStateStore | RedisStateStore
    engine: AsyncEngine
    redis: Redis | None
    resources: AsyncExitStack
    handoff: HandoffServices
    retention: Retention  # started by `pana serve` and `pana chat`
    clock: Clock = utc_now  # the one the handoff runs on (tests set it)

    async def close(self) -> None:
        await self.resources.aclose()

    async def health(self) -> dict[str, str]:
        """Reachability of what Pana depends on, for /healthz."""
        report = {"database": "ok", "redis": "not configured", "nlu": "ok"}
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # any failure means unreachable; the log has the details
            log.exception("Database health check failed")
            report["database"] = "unreachable"
        if self.redis is not None:
            try:
                await self.redis.ping()  # type: ignore[misc]  # redis-py types ping for both clients
                report["redis"] = "ok"
            except Exception:
                log.exception("Redis health check failed")
                report["redis"] = "unreachable"
        if not await server_ready(self.settings.rasa):
            report["nlu"] = "unreachable"
        return report


def create_redis(settings: Settings, resources: AsyncExitStack) -> Redis | None:
    url = settings.redis.url_value()
    if not url:
        return None
    redis = Redis.from_url(url)
    resources.push_async_callback(redis.aclose)
    return redis


def create_state_store(redis: Redis | None) -> MemoryStateStore | RedisStateStore:
    return RedisStateStore(redis) if redis is not None else MemoryStateStore()


def create_core_config(settings: Settings) -> CoreConfig:
    policy = settings.policy
    return CoreConfig(
        thresholds=Thresholds(
            answer=policy.answer_threshold,
            suggest=policy.suggest_threshold,
            out_of_scope=policy.out_of_scope_threshold,
            urgent=policy.urgent_threshold,
        ),
        default_language=settings.pana.default_language,
        max_input_chars=settings.pana.max_input_chars,
        state_ttl_seconds=settings.pana.state_ttl_seconds,
        retention_days=settings.pana.message_retention_days,
        audit_retention_days=settings.pana.audit_retention_days,
        flood_limit=settings.pana.flood_limit,
        flood_window_seconds=settings.pana.flood_window_seconds,
    )


def create_handoff(
    settings: Settings, engine: AsyncEngine, catalog: ContentCatalog, translations: Translations, clock: Clock
) -> HandoffServices:
    """The case queue, the lawyers' desk, the relay outbox and their background worker."""
    config = settings.lawyers
    sessions = session_factory(engine)
    cases, lawyers, relays = SqlCaseStore(sessions), SqlLawyerStore(sessions), SqlRelayStore(sessions)
    hours = WorkingHours.parse(config.hours, config.timezone)
    cards = CaseCards(catalog, translations, hours)
    outbox = Outbox(
        cases=cases,
        lawyers=lawyers,
        relays=relays,
        translator=translations,
        show_lawyer_name=config.show_name,
        clock=clock,
    )
    announcer = Announcer(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        cards=cards,
        hours=hours,
        group_chat_id=config.group_chat_id,
        group_language=settings.pana.default_language,
        reannounce_after=dt.timedelta(minutes=config.reannounce_minutes),
        clock=clock,
    )
    queue = HandoffQueue(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        announcer=announcer,
        catalog=catalog,
        translator=translations,
        hours=hours,
        summary_messages=config.summary_messages,
        clock=clock,
    )
    desk = LawyerDesk(
        cases=cases,
        lawyers=lawyers,
        relays=relays,
        outbox=outbox,
        announcer=announcer,
        cards=cards,
        translator=translations,
        show_lawyer_name=config.show_name,
        clock=clock,
    )
    worker = HandoffWorker(
        cases=cases,
        lawyers=lawyers,
        outbox=outbox,
        announcer=announcer,
        translator=translations,
        idle_return_after=dt.timedelta(hours=config.idle_return_hours),
        interval_seconds=config.sweep_seconds,
        clock=clock,
    )
    return HandoffServices(queue=queue, desk=desk, outbox=outbox, worker=worker, lawyers=lawyers, cases=cases)


def create_retention(settings: Settings, engine: AsyncEngine, store: SqlConversationStore, clock: Clock) -> Retention:
    """The sweep that keeps the promise of /privacy and README (a channel registers its own records too)."""
    retention = Retention(dt.timedelta(days=settings.pana.message_retention_days), clock)
    expiry = SqlExpiry(session_factory(engine))
    retention.register("messages deleted", store.purge_older_than)
    retention.register("conversations deleted", expiry.delete_idle_conversations)
    retention.register("closed cases detached from the person", expiry.detach_closed_cases)
    retention.register("inactive contacts deleted with their records", expiry.forget_inactive_contacts)
    retention.register(
        "audit entries deleted", expiry.purge_audit, keep=dt.timedelta(days=settings.pana.audit_retention_days)
    )
    return retention


async def create_app(settings: Settings, *, detector: LanguageDetector | None = None, clock: Clock = utc_now) -> App:
    """Build everything the assistant needs: storage (migrated), NLU client, content, the core."""
    resources = AsyncExitStack()
    catalog = load_catalog(settings.pana.content_dir)
    translations = Translations(settings.pana.locales_dir)
    engine = create_engine(settings.database)
    resources.push_async_callback(engine.dispose)
    await migrate(engine)
    store = SqlConversationStore(
        session_factory(engine), idle=dt.timedelta(hours=settings.pana.conversation_idle_hours)
    )
    handoff = create_handoff(settings, engine, catalog, translations, clock)
    resources.push_async_callback(handoff.worker.stop)
    retention = create_retention(settings, engine, store, clock)
    resources.push_async_callback(retention.stop)
    classifier = RasaClient.from_settings(settings.rasa)
    resources.push_async_callback(classifier.close)
    redis = create_redis(settings, resources)
    state = create_state_store(redis)
    conversation = Conversation(
        classifier=classifier,
        store=store,
        state=state,
        catalog=catalog,
        handoff=handoff.queue,
        translator=translations,
        detector=detector or LanguageDetector(),
        config=create_core_config(settings),
        clock=clock,
        availability=LawyerAvailabilityNote.from_schedule(
            settings.lawyers.hours, settings.lawyers.timezone, handoff.lawyers, translations, clock
        ),
    )
    return App(
        settings, conversation, store, catalog, translations, state, engine, redis, resources, handoff, retention, clock
    )
