"""Several Rasa servers behind one classifier: round robin over those that answer, failover to the others.

A replica that fails a request (refused, timed out, HTTP 5xx) leaves the rotation at once; the request is
tried on the next one, so one dead replica costs its users nothing but the failed attempt. A background
check asks each replica out of rotation for /status (with a loaded model) and brings it back when it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.language import LanguageDetector
from bot.core.ports import Classification, IntentClassifier
from bot.errors import NluUnavailable
from bot.nlu.client import RasaClient
from bot.nlu.server import server_ready
from bot.settings import RasaSettings

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


class Closable(IntentClassifier, Protocol):
    async def close(self) -> None: ...


@dataclass(eq=False)
class Replica:
    name: str  # for logs: the replica's position, never its URL (which may carry credentials)
    client: Closable
    ready: Callable[[], Awaitable[bool]]
    up: bool = True


class RasaReplicas:
    def __init__(self, replicas: Sequence[Replica], *, check_seconds: float = CHECK_SECONDS) -> None:
        if not replicas:
            raise ValueError("at least one replica")
        self._replicas = tuple(replicas)
        self._turn = itertools.count()
        self._check_seconds = check_seconds
        self._checking: asyncio.Task[None] | None = None

    @property
    def replicas(self) -> tuple[Replica, ...]:
        return self._replicas

    def _order(self) -> list[Replica]:
        """The replicas in rotation, starting at the next in turn; then those out of it, as a last resort."""
        start = next(self._turn) % len(self._replicas)
        rotated = self._replicas[start:] + self._replicas[:start]
        return [r for r in rotated if r.up] + [r for r in rotated if not r.up]

    async def classify(self, text: str) -> Classification:
        failure: NluUnavailable | None = None
        for replica in self._order():
            try:
                result = await replica.client.classify(text)
            except NluUnavailable as error:
                failure = error
                self._out_of_rotation(replica, error)
                continue
            if not replica.up:
                replica.up = True
                log.info("NLU replica %s answers again", replica.name)
            return result
        raise NluUnavailable(f"no NLU replica answered ({failure})")

    def _out_of_rotation(self, replica: Replica, error: NluUnavailable) -> None:
        if replica.up:
            replica.up = False
            log.warning("NLU replica %s out of rotation: %s", replica.name, error)
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check_until_all_up(), name="nlu replica checks")

    async def _check_until_all_up(self) -> None:
        while any(not replica.up for replica in self._replicas):
            await asyncio.sleep(self._check_seconds)
            for replica in self._replicas:
                if not replica.up and await replica.ready():
                    replica.up = True
                    log.info("NLU replica %s back in rotation", replica.name)

    async def close(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checking
        for replica in self._replicas:
            await replica.client.close()


def create_classifier(rasa: RasaSettings, detector: LanguageDetector | None = None) -> RasaClient | RasaReplicas:
    """One client for one RASA_URL; a balancing pool of them for a comma-separated list (sharing one detector)."""
    urls = rasa.replica_urls
    if len(urls) == 1:
        return RasaClient.from_settings(rasa, detector=detector)
    replicas = []
    for number, url in enumerate(urls, start=1):
        settings = rasa.replica(url)
        replicas.append(
            Replica(
                f"#{number}",
                RasaClient.from_settings(settings, detector=detector),
                functools.partial(server_ready, settings, wait=CHECK_SECONDS / 2),
            )
        )
    return RasaReplicas(replicas)
