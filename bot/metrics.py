"""Prometheus metrics: what a turn and the NLU cost, what Pana answered, how the lawyers' queue and outbox stand.

Several `pana serve` workers share one registry through prometheus-client's multiprocess mode: `pana serve
--workers N` points PROMETHEUS_MULTIPROC_DIR at an empty folder before the workers start, each worker writes
its samples there, and whichever worker a scrape reaches reports the sum (counters, histograms) or the most
recent value (the gauges set at scrape time from the database). One worker without it keeps them in memory.

/metrics answers loopback peers only, unless PANA_METRICS_TOKEN is set: then any peer with that bearer token.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from bot.core.messages import IncomingMessage, Turn
from bot.core.ports import Classification, Dialogue, IntentClassifier

__all__ = [
    "MULTIPROCESS_ENV",
    "MeteredClassifier",
    "MeteredDialogue",
    "MetricsRoutes",
    "metrics_text",
]

log = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOOPBACK_PEERS = frozenset({"127.0.0.1", "::1"})

TURN_SECONDS = Histogram(
    "pana_turn_seconds", "Time to decide one incoming message (NLU included)", ["channel"], buckets=LATENCY_BUCKETS
)
TURNS = Counter("pana_turns", "Incoming messages handled, by channel and outcome", ["channel", "outcome"])
NLU_SECONDS = Histogram("pana_nlu_seconds", "Time of one NLU classification", buckets=LATENCY_BUCKETS)
NLU_FAILURES = Counter("pana_nlu_failures", "NLU classifications that failed (the menu was offered)")
# Read from the database at scrape time: the same value whichever worker is asked.
CASES_WAITING = Gauge("pana_cases_waiting", "Cases waiting for a lawyer", multiprocess_mode="mostrecent")
OLDEST_WAIT = Gauge(
    "pana_case_oldest_wait_seconds", "How long the oldest waiting case has waited", multiprocess_mode="mostrecent"
)
OUTBOX = Gauge(
    "pana_outbox_relays", "Relays between people and lawyers by status", ["status"], multiprocess_mode="mostrecent"
)
DEPENDENCY_UP = Gauge(
    "pana_dependency_up", "1 when a dependency answered the last check", ["dependency"], multiprocess_mode="mostrecent"
)


# Each labelled child looked up once: `labels()` takes a lock and builds a key on every call (~half of a turn's
# metrics cost). The labels are a channel's name and a Turn outcome: a handful of children in all.
@functools.cache
def _turns(channel: str, outcome: str) -> Counter:
    return TURNS.labels(channel, outcome)


@functools.cache
def _turn_seconds(channel: str) -> Histogram:
    return TURN_SECONDS.labels(channel)


class MeteredDialogue:
    """The Dialogue with each turn timed and counted by channel and outcome (text never becomes a label)."""

    def __init__(self, inner: Dialogue) -> None:
        self._inner = inner

    async def handle(self, message: IncomingMessage) -> Turn:
        started = time.perf_counter()
        try:
            turn = await self._inner.handle(message)
        except BaseException:
            _turns(message.channel, "error").inc()
            raise
        _turn_seconds(message.channel).observe(time.perf_counter() - started)
        _turns(message.channel, turn.outcome.value).inc()
        return turn

    async def progress(self, turn: Turn, parts_sent: int) -> None:
        await self._inner.progress(turn, parts_sent)

    async def unsent(self, turn: Turn) -> None:
        await self._inner.unsent(turn)

    async def delivered(self, turn: Turn) -> None:
        await self._inner.delivered(turn)


class MeteredClassifier:
    """The classifier with each call timed, and failures counted."""

    def __init__(self, inner: IntentClassifier) -> None:
        self._inner = inner

    async def classify(self, text: str) -> Classification:
        started = time.perf_counter()
        try:
            return await self._inner.classify(text)
        except Exception:
            NLU_FAILURES.inc()
            raise
        finally:
            NLU_SECONDS.observe(time.perf_counter() - started)


Figures = Callable[[], Awaitable[Mapping[str, float]]]
Health = Callable[[], Awaitable[Mapping[str, str]]]


def metrics_text() -> bytes:
    """The exposition of this process, or of every worker's files in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


class MetricsRoutes:
    """`GET /metrics`, installed into the HTTP server like a channel's webhooks."""

    def __init__(self, *, token: str | None, figures: Figures, health: Health) -> None:
        self._token = token
        self._figures = figures
        self._health = health

    def install(self, web_app: web.Application) -> None:
        web_app.router.add_get("/metrics", self.handle)

    def allowed(self, request: web.Request) -> bool:
        if self._token is None:
            return request.remote in LOOPBACK_PEERS
        offered = request.headers.get("Authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {self._token}".encode())

    async def handle(self, request: web.Request) -> web.Response:
        if not self.allowed(request):
            raise web.HTTPForbidden(text="metrics are for loopback peers or a bearer of PANA_METRICS_TOKEN\n")
        await self.refresh()
        return web.Response(body=metrics_text(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def refresh(self) -> None:
        """Set the gauges read from the database and the dependency checks; a failure leaves them as they were."""
        try:
            figures = await self._figures()
        except Exception:  # the database is away: the health gauge says so below
            log.warning("Queue figures unavailable for /metrics", exc_info=True)
        else:
            CASES_WAITING.set(figures["cases_waiting"])
            OLDEST_WAIT.set(figures["oldest_wait_seconds"])
            for status in ("pending", "failed"):
                OUTBOX.labels(status).set(figures[f"relays_{status}"])
        for dependency, state in (await self._health()).items():
            DEPENDENCY_UP.labels(dependency).set(1.0 if state in ("ok", "not configured") else 0.0)
