"""The composition root: create_* factories wire settings into components. Nothing runs at import."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from contextlib import AsyncExitStack
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.locks import KeyedLocks, LayeredLocks, PersonLocks
from bot.channels.recovery import Recovery
from bot.clock import Clock, utc_now
from bot.content.catalog import ContentCatalog
from bot.content.loader import load_catalog
from bot.core.conversation import Conversation, CoreConfig
from bot.core.language import LanguageDetector
from bot.core.outage import OutageAnswers
from bot.core.policy import Thresholds
from bot.core.ports import Dialogue
from bot.handoff.announce import Announcer
from bot.handoff.availability import LawyerAvailabilityNote
from bot.handoff.cards import CaseCards
from bot.handoff.desk import LawyerDesk
from bot.handoff.outbox import Outbox
from bot.handoff.queue import HandoffQueue
from bot.handoff.services import HandoffServices
from bot.handoff.withdrawal import Withdrawals
from bot.handoff.worker import HandoffWorker
from bot.hours import WorkingHours
from bot.i18n import Translations
from bot.keys import Keyring, load_keyring
from bot.metrics import MeteredClassifier, MeteredDialogue
from bot.nlu.replicas import create_classifier
from bot.nlu.server import server_ready
from bot.settings import Settings
from bot.storage.cases import SqlCaseStore
from bot.storage.commits import Commits
from bot.storage.database import create_engine, is_database_outage, migrate, session_factory
from bot.storage.erasures import SqlRemoteErasures
from bot.storage.expiry import SqlExpiry
from bot.storage.figures import SqlQueueFigures
from bot.storage.lawyers import SqlLawyerStore
from bot.storage.locks import RedisLease, RedisPersonLocks
from bot.storage.relays import SqlRelayStore
from bot.storage.repository import SqlConversationStore
from bot.storage.retention import Retention
from bot.storage.state import FallbackStateStore, MemoryStateStore, RedisHealth, RedisStateStore
from bot.storage.turnlimit import create_turn_limit

log = logging.getLogger(__name__)
CHECK_SECONDS = 2.0  # one health check of one dependency; what takes longer counts as unreachable


@dataclass
class App:
    settings: Settings
    conversation: Conversation
    store: SqlConversationStore
    catalog: ContentCatalog
    translations: Translations
    claims: MemoryStateStore | FallbackStateStore
    engine: AsyncEngine
    redis: Redis | None
    resources: AsyncExitStack
    handoff: HandoffServices
    retention: Retention  # started by `pana serve` and `pana chat`
    recovery: Recovery  # started by `pana serve`, once the channels registered how to replay a message
    # What channels call: the conversation, timed, or the static reply while the record is down.
    dialogue: Dialogue
    keyring: Keyring
    queue_figures: SqlQueueFigures  # for /metrics
    # One message per person at a time, across workers when they share Redis: the channels hold it.
    person_locks: PersonLocks
    commits: Commits  # the engine's transactions, durable or relaxed (bot/storage/commits.py)
    clock: Clock = utc_now  # the one the handoff runs on (tests set it)

    async def close(self) -> None:
        await self.resources.aclose()

    async def health(self) -> dict[str, str]:
        """Reachability of what Pana depends on, for /healthz (which caches it): each check bounded."""
        database, nlu = await asyncio.gather(self._database_reachable(), self._nlu_reachable())
        report = {"database": database, "redis": "not configured", "nlu": nlu}
        if isinstance(self.claims, FallbackStateStore):
            report["redis"] = await self._redis_reachable(self.claims.health)
        return report

    async def _database_reachable(self) -> str:
        try:
            async with asyncio.timeout(CHECK_SECONDS), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure means unreachable; /healthz logs the change once
            log.debug("Database check failed: %s", type(error).__name__)
            return "unreachable"
        return "ok"

    async def _redis_reachable(self, health: RedisHealth) -> str:
        if self.redis is None:
            return "not configured"
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await self.redis.ping()  # type: ignore[misc]  # redis-py types ping for both clients
        except Exception as error:
            health.failed(error)
            return "unreachable (in-process fallback)"
        health.succeeded()
        return "ok"

    async def _nlu_reachable(self) -> str:
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                return "ok" if await server_ready(self.settings.rasa) else "unreachable"
        except TimeoutError:
            return "unreachable"


def create_redis(settings: Settings, resources: AsyncExitStack) -> Redis | None:
    url = settings.redis.url_value()
    if not url:
        return None
    # Bounded waits: an unreachable Redis must fail fast so the in-process fallback takes over.
    redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    resources.push_async_callback(redis.aclose)
    return redis


def create_state_store(
    redis: Redis | None, keyring: Keyring, health: RedisHealth | None = None
) -> MemoryStateStore | FallbackStateStore:
    """In-process without Redis; with it, Redis while it answers and in-process while it does not."""
    if redis is None:
        return MemoryStateStore()
    return FallbackStateStore(RedisStateStore(redis, keyring), MemoryStateStore(), health or RedisHealth())


def state_health(state: MemoryStateStore | FallbackStateStore) -> RedisHealth:
    """One Redis health for everything that falls back: one warning when Redis goes, one line when it is back."""
    return state.health if isinstance(state, FallbackStateStore) else RedisHealth()


def create_keyring(settings: Settings) -> Keyring:
    keys = settings.pana.encryption_keys
    return load_keyring(keys.get_secret_value() if keys else None, settings.pana.var_dir)


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
        turn_lease_seconds=settings.pana.turn_lease_seconds,
        global_turns_per_second=settings.pana.global_turns_per_second,
    )


def create_person_locks(redis: Redis | None, keyring: Keyring, health: RedisHealth, wait_seconds: float) -> PersonLocks:
    """In-process locks, layered over Redis locks (keyed hashes, skipped while Redis is away) with a Redis.

    A message waits at most `wait_seconds` in all for the person's previous one, then gets a 503 (redelivered).
    """
    local = KeyedLocks(wait_seconds)
    if redis is None:
        return local
    shared = RedisPersonLocks(redis, keyring.blind, health, wait_seconds=wait_seconds)
    return LayeredLocks(local, shared, wait_seconds)


def create_handoff(
    settings: Settings,
    engine: AsyncEngine,
    catalog: ContentCatalog,
    translations: Translations,
    clock: Clock,
    redis: Redis | None = None,
) -> HandoffServices:
    """The case queue, the lawyers' desk, the relay outbox and their background worker."""
    config = settings.lawyers
    sessions = session_factory(engine)
    cases, lawyers = SqlCaseStore(sessions), SqlLawyerStore(sessions)
    relays = SqlRelayStore(sessions, lease=dt.timedelta(seconds=config.relay_lease_seconds))
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
        lease=dt.timedelta(seconds=config.announce_lease_seconds),
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
        max_cases_per_day=config.max_cases_per_day,
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
        withdrawals=Withdrawals(SqlRemoteErasures(session_factory(engine)), outbox, translations),
        lease=RedisLease(redis) if redis is not None else None,
    )
    return HandoffServices(queue=queue, desk=desk, outbox=outbox, worker=worker, lawyers=lawyers, cases=cases)


def create_retention(
    settings: Settings, engine: AsyncEngine, store: SqlConversationStore, clock: Clock, redis: Redis | None = None
) -> Retention:
    """The sweep that keeps the promise of /privacy and README (a channel registers its own records too)."""
    lease = RedisLease(redis) if redis is not None else None
    retention = Retention(dt.timedelta(days=settings.pana.message_retention_days), clock, lease)
    expiry = SqlExpiry(session_factory(engine))
    retention.register("messages deleted", store.purge_older_than)
    retention.register("conversations deleted", expiry.delete_idle_conversations)
    retention.register("closed cases detached from the person", expiry.detach_closed_cases)
    retention.register("inactive contacts deleted with their records", expiry.forget_inactive_contacts)
    retention.register("tombstones of deleted people's messages expired", store.purge_tombstones)
    retention.register(
        "audit entries deleted", expiry.purge_audit, keep=dt.timedelta(days=settings.pana.audit_retention_days)
    )
    return retention


async def create_app(
    settings: Settings,
    *,
    detector: LanguageDetector | None = None,
    clock: Clock = utc_now,
    migrate_schema: bool = True,
) -> App:
    """Build everything the assistant needs: storage (migrated, unless the caller did), NLU client, content, the core.

    `migrate_schema=False` is for the workers of `pana serve --workers`: their supervisor migrated before
    starting them, and not loading Alembic saves each worker its memory.
    """
    resources = AsyncExitStack()
    catalog = load_catalog(settings.pana.content_dir)
    translations = Translations(settings.pana.locales_dir)
    keyring = create_keyring(settings)
    engine = create_engine(settings.database, keyring)
    resources.push_async_callback(engine.dispose)
    if migrate_schema:
        await migrate(engine)
    commits = Commits(
        engine,
        relaxed=settings.database.relaxed_commits,
        pool_size=settings.database.relaxed_pool_size,
        pool_overflow=settings.database.relaxed_pool_overflow,
    )
    store = SqlConversationStore(commits, idle=dt.timedelta(hours=settings.pana.conversation_idle_hours))
    redis = create_redis(settings, resources)
    handoff = create_handoff(settings, engine, catalog, translations, clock, redis)
    resources.push_async_callback(handoff.worker.stop)
    retention = create_retention(settings, engine, store, clock, redis)
    resources.push_async_callback(retention.stop)
    detector = detector or LanguageDetector()  # one per process: the core and the Latin reading share it
    classifier = create_classifier(settings.rasa, detector)
    resources.push_async_callback(classifier.close)
    redis_health = RedisHealth()  # one view of whether Redis answers, for the state and the locks
    state = create_state_store(redis, keyring, redis_health)
    conversation = Conversation(
        classifier=MeteredClassifier(classifier),
        store=store,
        state=state,
        catalog=catalog,
        handoff=handoff.queue,
        translator=translations,
        detector=detector,
        config=create_core_config(settings),
        clock=clock,
        availability=LawyerAvailabilityNote.from_schedule(
            settings.lawyers.hours, settings.lawyers.timezone, handoff.lawyers, translations, clock
        ),
        turn_limit=create_turn_limit(redis, keyring, settings.pana.global_turns_per_second, clock, state_health(state)),
    )
    recovery = Recovery(
        store,
        grace=dt.timedelta(seconds=settings.pana.recovery_grace_seconds),
        max_age=dt.timedelta(hours=settings.pana.recovery_max_age_hours),
        interval_seconds=settings.pana.recovery_interval_seconds,
        clock=clock,
    )
    resources.push_async_callback(recovery.stop)
    dialogue = OutageAnswers(
        MeteredDialogue(conversation),
        is_outage=is_database_outage,
        catalog=catalog,
        translator=translations,
        detector=detector,
        default_language=settings.pana.default_language,
        marks=state,
        mark_ttl_seconds=math.ceil(settings.pana.recovery_max_age_hours * 3600),
    )
    recovery.skip_when(dialogue.answered_by_static_reply)
    figures = SqlQueueFigures(session_factory(engine), clock)
    return App(
        settings,
        conversation,
        store,
        catalog,
        translations,
        state,
        engine,
        redis,
        resources,
        handoff,
        retention,
        recovery,
        dialogue,
        keyring,
        figures,
        create_person_locks(redis, keyring, redis_health, settings.pana.person_wait_seconds),
        commits,
        clock,
    )
