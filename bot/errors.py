"""The exception tree of Pana.

PanaError
 ├── ConfigurationError   a setting or a required file is missing or wrong: fix the deployment
 ├── ContentInvalid       content/ failed validation: fix the data (carries every problem)
 ├── NluUnavailable       the NLU server is down, slow or answered nonsense: degrade, never crash
 ├── NluProjectError      training or serving the Rasa project failed: read the Rasa log
 ├── RecordChanged        a row read a moment ago is gone (deleted concurrently): the update is retried
 └── DeliveryFailed       a channel's API did not take a message: retry when `retryable`, else record it failed
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ContentInvalid",
    "DeliveryFailed",
    "NluProjectError",
    "NluUnavailable",
    "PanaError",
    "RecordChanged",
]


class PanaError(Exception):
    """Root of every error Pana raises on purpose."""


class ConfigurationError(PanaError):
    """A setting or a required file is missing or wrong."""


class ContentInvalid(PanaError):
    """The curated content failed validation."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} content problem(s): " + "; ".join(problems[:5]))


class NluUnavailable(PanaError):
    """The NLU server could not classify a message in time."""


class NluProjectError(PanaError):
    """Training, serving or evaluating the Rasa project failed."""


class RecordChanged(PanaError):
    """A row the code just wrote or found is gone: another process deleted it meanwhile."""


class DeliveryFailed(PanaError):
    """A channel's API did not accept a message; `code` is the platform's error code when it gave one."""

    def __init__(
        self, reason: str, *, retryable: bool, code: int | None = None, retry_after: float | None = None
    ) -> None:
        self.retryable = retryable
        self.code = code
        self.retry_after = retry_after  # seconds the platform asked to wait before the next try, when it said
        super().__init__(reason)


class InFlight(PanaError):
    """The same platform delivery is being handled right now (another request, process or the sweeper).

    Retryable: a webhook answers 503 so the platform delivers it again later; never a 200 that drops it.
    """


class PersonBusy(InFlight):
    """The person's previous message was still being handled after the lock's wait (PANA_PERSON_WAIT_SECONDS).

    A 503 before the platform's own timeout, so the platform delivers the message again; never a 500 logged as
    a failure, and never a wait so long that Twilio abandons the request first."""


class HeldElsewhere(InFlight):
    """The message is stored already and another handler holds it (its lease): a live one, or a killed one
    whose lease has not ended. Its answer is owed by that handler or, if it died, by the recovery sweep."""
