"""One person's short-lived dialogue state, typed; stored as a plain dict in the StateStore (memory or Redis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["DialogueState", "Pending"]

Pending = Literal["delete", "handoff"]


@dataclass(slots=True)
class DialogueState:
    """What the next message is read against; losing it costs a repeated question, nothing more."""

    recent: list[float] = field(default_factory=list)  # arrival times (epoch seconds) in the flood window
    slowed: bool = False  # the person was asked to slow down in this flood
    pending: Pending | None = None  # a yes/no question Pana asked: "delete my data", or the handoff's consent
    confirm: tuple[str, str] | None = None  # the payloads a typed "yes" / "no" stand for (handoff consent)
    failures: int = 0  # messages not understood in a row
    topic: str | None = None  # the topic last read about: a lawyer asked for next sees it

    def take_question(self) -> tuple[Pending | None, tuple[str, str] | None]:
        """The question the previous reply asked, answered (or ignored) by this message: it is asked once."""
        asked = self.pending, self.confirm
        self.pending = self.confirm = None
        return asked

    def to_dict(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"recent": self.recent, "failures": self.failures}
        if self.slowed:
            stored["slowed"] = True
        if self.pending is not None:
            stored["pending"] = self.pending
        if self.confirm is not None:
            stored["confirm"] = list(self.confirm)
        if self.topic is not None:
            stored["topic"] = self.topic
        return stored

    @classmethod
    def from_dict(cls, stored: dict[str, Any] | None) -> DialogueState:
        """Read what an earlier version or process stored; anything malformed is dropped, not trusted."""
        if not stored:
            return cls()
        pending = stored.get("pending")
        confirm = stored.get("confirm")
        topic = stored.get("topic")
        return cls(
            recent=[float(t) for t in stored.get("recent", []) if isinstance(t, int | float)],
            slowed=bool(stored.get("slowed")),
            pending=pending if pending in ("delete", "handoff") else None,
            confirm=(str(confirm[0]), str(confirm[1])) if isinstance(confirm, list) and len(confirm) == 2 else None,
            failures=int(stored.get("failures", 0) or 0),
            topic=topic if isinstance(topic, str) else None,
        )
